// Game code called through the official Nakama JavaScript client,
// unchanged: client.rpc with a session, client.rpcHttpKey with the runtime
// HTTP key, socket.rpc, and the errors each reports. Run against a server
// with the example RPCs on 127.0.0.1:7350:
//
//   cargo run --release -- --kairos.runtime.examples true      (another terminal)
//   cd tests/js && npm install && node rpc.mjs
//
// KAIROS_HOST / KAIROS_PORT / KAIROS_SERVER_KEY / KAIROS_HTTP_KEY point it
// elsewhere. Exits non-zero, saying which step failed, if anything does
// not work.

import { assert, check, fail, client, httpKey, unique } from "./common.mjs";

async function refusal(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected a refusal");
}

try {
  const session = await check("authenticate", () =>
    client.authenticateDevice(`rpc-${unique}`, true, `rpc${unique}`.slice(0, 20)),
  );

  await check("client.rpc round-trips a JSON payload", async () => {
    const r = await client.rpc(session, "example.echo", { level: 3, tags: ["a", "b"] });
    assert(r.payload.level === 3 && r.payload.tags[1] === "b", JSON.stringify(r));
  });

  await check("the function sees the session's user", async () => {
    const r = await client.rpc(session, "example.whoami", {});
    assert(r.payload.user_id === session.user_id && r.payload.mode === "http", JSON.stringify(r));
  });

  await check("client.rpcHttpKey calls without a session", async () => {
    const r = await client.rpcHttpKey(httpKey, "example.whoami");
    assert(r.payload.user_id === "", JSON.stringify(r));
  });

  await check("a wrong HTTP key is refused with 401", async () => {
    const e = await refusal(client.rpcHttpKey("not-the-key", "example.whoami"));
    assert(e.status === 401, `status ${e.status}`);
  });

  await check("an unknown function is 404", async () => {
    const e = await refusal(client.rpc(session, "example.missing", {}));
    assert(e.status === 404, `status ${e.status}`);
  });

  await check("a function's error keeps its code (InvalidArgument: 400)", async () => {
    const e = await refusal(client.rpc(session, "example.fail", { code: 3, message: "bad move" }));
    assert(e.status === 400, `status ${e.status}`);
    const body = await e.json();
    assert(body.code === 3 && body.message === "bad move", JSON.stringify(body));
  });

  const socket = client.createSocket(false, false);
  await check("connect a socket", () => socket.connect(session, true));

  await check("socket.rpc", async () => {
    const r = await socket.rpc("example.echo", JSON.stringify({ over: "socket" }));
    assert(r.id === "example.echo" && JSON.parse(r.payload).over === "socket", JSON.stringify(r));
  });

  await check("socket.rpc errors: not found (6), function error (7)", async () => {
    const missing = await refusal(socket.rpc("example.missing", ""));
    assert(missing.code === 6, JSON.stringify(missing));
    const failed = await refusal(socket.rpc("example.fail", JSON.stringify({ code: 9, message: "no" })));
    assert(failed.code === 7 && failed.message === "no", JSON.stringify(failed));
  });

  await check("an RPC sends the caller a live notification", async () => {
    const got = new Promise((resolve) => {
      socket.onnotification = resolve;
    });
    await client.rpc(session, "example.notify_me", { prize: "gold" });
    const n = await Promise.race([got, new Promise((_, reject) => setTimeout(() => reject(new Error("no notification")), 5000))]);
    assert(n.code === 101 && n.content.prize === "gold", JSON.stringify(n));
  });

  socket.disconnect(false);
  console.log("all nakama-js rpc checks passed");
  process.exit(0);
} catch (e) {
  fail(e);
}
