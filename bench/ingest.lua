-- wrk script for bench/ingestion.py: POST answers, each with a unique id, and
-- remember which ones the server acknowledged so the bench can check the
-- database holds exactly those (none lost, none twice).
--
-- Parameters come from the environment (every wrk thread has its own Lua state):
--   KAIKU_WRK_MODE    form (public link, ceiling) or api (JSON + bearer key)
--   KAIKU_WRK_PATH    the URL path to POST to
--   KAIKU_WRK_PREFIX  prefix of this run's ids (thread and counter are appended)
--   KAIKU_WRK_SURVEY  survey id (api mode)
--   KAIKU_WRK_TOKEN   API key (api mode)
--   KAIKU_WRK_OUT     where done() writes the results
-- An acknowledgement is the Location of a 303 (public link: it carries the new
-- answer's edit token) or the "id" of a 201 body (API, ceiling). wrk runs for a fixed time;
-- answers in flight at the end may be stored without an acknowledgement (the bench counts
-- them). Exact-count bursts use bench/_burst.py, which can resend.

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  mode = os.getenv("KAIKU_WRK_MODE")
  path = os.getenv("KAIKU_WRK_PATH")
  prefix = os.getenv("KAIKU_WRK_PREFIX") .. "t" .. tid .. "n"
  survey = os.getenv("KAIKU_WRK_SURVEY") or "0"
  token = os.getenv("KAIKU_WRK_TOKEN") or ""
  sent, acked, acks, statuses = 0, 0, {}, {}
  form_headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  api_headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
end

function request()
  sent = sent + 1
  local id = string.format("%s%08d", prefix, sent)
  if mode == "api" then
    local body = '{"survey": ' .. survey .. ', "score": 9, "idempotency_key": "' .. id .. '"}'
    return wrk.format("POST", path, api_headers, body)
  end
  return wrk.format("POST", path, form_headers, "score=9&lang=en&nonce=" .. id)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 303 then
    acked = acked + 1
    acks[acked] = headers["Location"] or headers["location"] or ""
  elseif status == 201 then
    acked = acked + 1
    acks[acked] = string.match(body, '"id":%s*(%d+)') or ""
  end
end

function done(summary, latency, requests)
  local out = assert(io.open(os.getenv("KAIKU_WRK_OUT"), "w"))
  local e = summary.errors
  out:write(string.format("summary %d %d %d %d %d %d %d\n", summary.duration, summary.requests,
    e.connect, e.read, e.write, e.status, e.timeout))
  out:write(string.format("latency %d %d %d %d\n", latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.max))
  for _, thread in ipairs(threads) do
    out:write(string.format("thread %d %d %d\n", thread:get("tid"), thread:get("sent"),
      thread:get("acked")))
    for code, count in pairs(thread:get("statuses")) do
      out:write(string.format("status %d %d\n", code, count))
    end
    for _, ack in ipairs(thread:get("acks")) do
      out:write("ack " .. ack .. "\n")
    end
  end
  out:close()
end
