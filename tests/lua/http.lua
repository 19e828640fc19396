-- nk.http_request and the ciphers and password hashes of nk, called by
-- tests/tests/lua.rs.
local nk = require("nakama")

-- One request as the payload describes it ({url, method, headers, body,
-- timeout}); the response, or the Lua error the call raised.
nk.register_rpc(function(context, payload)
  local r = nk.json_decode(payload)
  local ok, code, headers, body = pcall(nk.http_request, r.url, r.method or "get",
    r.headers or {}, r.body, r.timeout)
  if not ok then
    return nk.json_encode({ error = code })
  end
  return nk.json_encode({ code = code, headers = headers, body = body })
end, "http.request")

-- The argument checks of http_request, each one's Lua error.
nk.register_rpc(function(context, payload)
  local function err(...)
    local ok, e = pcall(nk.http_request, ...)
    return (not ok) and e or "no error"
  end
  return nk.json_encode({
    no_url = err("", "get", {}),
    bad_method = err("http://example.com/", "trace", {}),
    no_headers = err("http://example.com/", "get", nil),
    header_value = err("http://example.com/", "get", { ["X-N"] = 1 }),
  })
end, "http.arguments")

-- AES round trips, bcrypt and cron_prev.
nk.register_rpc(function(context, payload)
  local key16 = "0123456789abcdef"
  local key32 = "0123456789abcdef0123456789abcdef"
  local c128 = nk.aes128_encrypt("hello", key16)
  local c256 = nk.aes256_encrypt("hello world!", key32)
  local function err(f, ...)
    local ok, e = pcall(f, ...)
    return (not ok) and e or "no error"
  end
  local hash = nk.bcrypt_hash("password")
  return nk.json_encode({
    aes128_len = string.len(c128),
    aes128_back = nk.aes128_decrypt(c128, key16),
    aes128_fresh_iv = nk.aes128_encrypt("hello", key16) ~= c128,
    aes256_len = string.len(c256),
    aes256_back = nk.aes256_decrypt(c256, key32),
    aes_bad_key = err(nk.aes128_encrypt, "hello", key32),
    aes_empty = err(nk.aes256_decrypt, "", key32),
    aes_short = err(nk.aes128_decrypt, "short", key16),
    bcrypt_prefix = string.sub(hash, 1, 4),
    bcrypt_same = nk.bcrypt_compare(hash, "password"),
    bcrypt_other = nk.bcrypt_compare(hash, "not the password"),
    bcrypt_short = nk.bcrypt_compare("$2a$", "password"),
    bcrypt_empty = err(nk.bcrypt_compare, hash, ""),
    cron_prev = nk.cron_prev("0 0 * * *", 1704103200),
    cron_prev_zero = err(nk.cron_prev, "0 0 * * *", 0),
  })
end, "http.codecs")
