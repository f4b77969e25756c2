-- Forward auth for HAProxy: asks approov-verifier's /check about each request, as nginx
-- auth_request does. Loaded by haproxy.cfg (lua-load), used as
--
--   http-request lua.approov-check <verifier host:port> <claim headers, comma-separated>
--
-- It sends /check the client's headers (the token, Authorization, the signature headers,
-- traceparent, ...) and the original request in X-Original-Method, X-Original-URI,
-- X-Original-Content-Length, X-Forwarded-Host and X-Forwarded-Proto, never the body (a
-- signature covering content-digest is refused: body_unavailable). On a 200 it replaces each
-- claim header the client sent by the verifier's (removed when the token has no such claim)
-- and sets txn.approov_allowed; on anything else (401, a 500 for a configuration the verifier
-- cannot read, no answer within 5 s) it changes nothing and haproxy.cfg answers 401 {}.
--
-- Why a socket and not core.httpclient(): the httpclient adds "Accept: */*" and
-- "User-Agent: HAProxy" to a request that has none (httpclient_req_gen), so the verifier
-- would check headers the client never sent and the backend never gets (a signature may cover
-- them); and HAProxy 2.6 copies the header table it is given into an array of
-- tune.http.maxhdr entries without a bound ("BUG/MINOR: hlua: fix stack overflow in httpclient
-- headers conversion", upstream in 2026, not in Debian's 2.6.12), which a client's own headers
-- plus ours would overrun. The request below is written whole: the client's headers, ours, no
-- other.

local TIMEOUT_SECONDS = 5
-- Answer header lines read at most (the verifier sends a handful).
local MAX_ANSWER_LINES = 64

-- Not sent to /check: the length goes apart (no body goes), the hop-by-hop headers are this
-- connection's, Host is the verifier's, and the gateway alone says what the original request
-- was (its Host goes as X-Forwarded-Host).
local NOT_FORWARDED = {
    ["host"] = true,
    ["content-length"] = true, ["transfer-encoding"] = true, ["expect"] = true,
    ["connection"] = true, ["keep-alive"] = true, ["proxy-connection"] = true,
    ["te"] = true, ["trailer"] = true, ["upgrade"] = true,
    ["x-original-method"] = true, ["x-original-uri"] = true,
    ["x-original-content-length"] = true, ["x-forwarded-method"] = true,
    ["x-forwarded-uri"] = true, ["x-forwarded-host"] = true, ["x-forwarded-proto"] = true,
}

-- The values of a header of txn.http:req_get_headers(), in their order (indexed from 0).
local function values(list)
    local ordered, i = {}, 0
    while list[i] ~= nil do
        ordered[#ordered + 1] = list[i]
        i = i + 1
    end
    return ordered
end

-- "Approov-Device-Id,Other" -> { ["approov-device-id"] = "Approov-Device-Id", ... }
local function claim_headers(list)
    local names = {}
    for name in string.gmatch(list, "[^,%s]+") do
        names[string.lower(name)] = name
    end
    return names
end

-- Whether a text can go in a header line as it is. HAProxy's parsers refuse these bytes in a
-- request already; checked again since the lines below are written by hand.
local function line_safe(text)
    return string.find(text, "[\r\n\0]") == nil
end

-- The auth request: GET /check with the client's headers and the original request's; nil if a
-- header of the request cannot be written as it is.
local function auth_request(txn, verifier)
    local headers = txn.http:req_get_headers()
    local lines = { "GET /check HTTP/1.1", "host: " .. verifier, "connection: close" }
    for name, list in pairs(headers) do
        if not NOT_FORWARDED[name] then
            for _, value in ipairs(values(list)) do
                lines[#lines + 1] = name .. ": " .. value
            end
        end
    end
    lines[#lines + 1] = "x-original-method: " .. txn.sf:method()
    lines[#lines + 1] = "x-original-uri: " .. txn.sf:url()
    local length = headers["content-length"]
    if length ~= nil and length[0] ~= nil then
        lines[#lines + 1] = "x-original-content-length: " .. length[0]
    end
    local host = headers["host"]
    if host ~= nil and host[0] ~= nil then
        lines[#lines + 1] = "x-forwarded-host: " .. host[0]
    end
    -- ssl_fc is a boolean sample, which HAProxy 2.6 hands to Lua as 0 or 1.
    local tls = txn.f:ssl_fc()
    lines[#lines + 1] = "x-forwarded-proto: " .. ((tls == 1 or tls == true) and "https" or "http")
    for _, line in ipairs(lines) do
        if not line_safe(line) then
            return nil
        end
    end
    return table.concat(lines, "\r\n") .. "\r\n\r\n"
end

-- The verifier's status and the values of the claim headers in its answer; nil and the reason
-- when there is no answer.
local function ask(verifier, request, claims)
    local socket = core.tcp()
    socket:settimeout(TIMEOUT_SECONDS)
    local ok, err = socket:connect(verifier)
    if not ok then
        return nil, "connect: " .. tostring(err)
    end
    ok, err = socket:send(request)
    if not ok then
        socket:close()
        return nil, "send: " .. tostring(err)
    end
    local status_line, read_err = socket:receive("*l")
    local status = status_line and string.match(status_line, "^HTTP/1%.[01] (%d%d%d)")
    if status == nil then
        socket:close()
        return nil, "no status line: " .. tostring(read_err or status_line)
    end
    local found = {}
    for _ = 1, MAX_ANSWER_LINES do
        local line = socket:receive("*l")
        if line == nil then
            socket:close()
            return nil, "the answer's headers were cut short"
        end
        if line == "" then
            socket:close()
            return status, found
        end
        local name, value = string.match(line, "^([^:]+):[ \t]*(.-)[ \t]*$")
        if name ~= nil and claims[string.lower(name)] ~= nil then
            local lower = string.lower(name)
            found[lower] = found[lower] or {}
            table.insert(found[lower], value)
        end
    end
    socket:close()
    return nil, "too many header lines in the answer"
end

core.register_action("approov-check", { "http-req" }, function(txn, verifier, claim_list)
    local claims = claim_headers(claim_list)
    local request = auth_request(txn, verifier)
    if request == nil then
        txn:Warning("approov-check: a header of the request cannot be sent to the verifier")
        return
    end
    local status, found = ask(verifier, request, claims)
    if status == nil then
        txn:Warning("approov-check: no answer from the verifier at " .. verifier .. ": " .. found)
        return
    end
    if status ~= "200" then
        return
    end
    for lower, name in pairs(claims) do
        txn.http:req_del_header(name)
        for _, value in ipairs(found[lower] or {}) do
            txn.http:req_add_header(name, value)
        end
    end
    txn:set_var("txn.approov_allowed", true)
end, 2)
