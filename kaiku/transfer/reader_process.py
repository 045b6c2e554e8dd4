"""The entry point of an import's reader process (kaiku.transfer.importers.pipeline).

Kept outside the importers package and free of model imports: a spawned
process imports this module, and unpickles its arguments, before Django is set
up. The arguments therefore travel as one pickled blob, opened after setup.
"""

from __future__ import annotations

import pickle
import traceback
from multiprocessing.connection import Connection


def main(send: Connection, blob: bytes) -> None:
    import django

    django.setup()
    from django.utils import translation

    from kaiku.transfer.importers.pipeline import to_tuple
    from kaiku.transfer.importers.runner import ImportFailed, checked_batches

    try:
        path, options, context = pickle.loads(blob)  # noqa: S301 (from our own parent process)
        translation.activate(options.language or "en")
        for batch in checked_batches(path, options, context):
            valid = [to_tuple(row) for row in batch.valid]
            send.send(("batch", valid, batch.rejected, batch.rows, batch.bytes_read))
        send.send(("done",))
    except ImportFailed as exc:
        send.send(("failed", exc.message))
    except BaseException:
        send.send(("crashed", traceback.format_exc()))
    finally:
        send.close()
