"""Moving data in and out of Kaiku: imports, exports, GDPR erase/export/retention, audit log."""
