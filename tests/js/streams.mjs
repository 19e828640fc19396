// Game code's streams through the official Nakama JavaScript client,
// unchanged: two players join a custom stream with the example RPC
// `example.stream_join` (one over socket.rpc, each its own socket), hear
// the joins on `socket.onstreampresence`, and receive what
// `example.stream_send` sends on `socket.onstreamdata`; a player who
// disconnects is heard leaving. Run against a server with the example
// RPCs on 127.0.0.1:7350:
//
//   cargo run --release -- --kairos.runtime.examples true      (another terminal)
//   cd tests/js && npm install && node streams.mjs
//
// KAIROS_HOST / KAIROS_PORT / KAIROS_SERVER_KEY / KAIROS_HTTP_KEY point it
// elsewhere. Exits non-zero, saying which step failed, if anything does
// not work.

import { randomUUID } from "node:crypto";

import { assert, check, fail, client, unique } from "./common.mjs";

/// A socket that keeps every stream message it receives, and waits for
/// the first one (since the last taken) that `pred` accepts.
function listen(socket) {
  const seen = [];
  let wake = () => {};
  socket.onstreampresence = (e) => {
    seen.push({ presence: e });
    wake();
  };
  socket.onstreamdata = (d) => {
    seen.push({ data: d });
    wake();
  };
  return async function next(pred, what) {
    const deadline = Date.now() + 5000;
    for (;;) {
      const i = seen.findIndex(pred);
      if (i >= 0) return seen.splice(0, i + 1)[i];
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what}: got ${JSON.stringify(seen)}`);
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(resolve, left);
      });
    }
  };
}

const ids = (list) => (list ?? []).map((p) => p.session_id);

try {
  const stream = { mode: 20, subject: randomUUID(), label: "lobby" };
  const players = [];
  for (const name of ["a", "b"]) {
    const session = await check(`authenticate ${name}`, () =>
      client.authenticateDevice(`streams-${name}-${unique}`, true),
    );
    const socket = client.createSocket(false, false);
    await check(`connect ${name}`, () => socket.connect(session, true));
    players.push({ session, socket, next: listen(socket) });
  }
  const [a, b] = players;

  for (const p of players) {
    await check(`${p === a ? "a" : "b"} joins the stream by socket.rpc`, async () => {
      const r = await p.socket.rpc("example.stream_join", JSON.stringify(stream));
      const answer = JSON.parse(r.payload);
      assert(answer.joined === true, r.payload);
      p.sessionId = answer.session_id;
    });
  }

  await check("onstreampresence: a hears its own join, then b's", async () => {
    const own = await a.next((m) => m.presence, "join of a");
    assert(ids(own.presence.joins)[0] === a.sessionId, JSON.stringify(own));
    assert(own.presence.stream.mode === 20, JSON.stringify(own));
    assert(own.presence.stream.subject === stream.subject, JSON.stringify(own));
    assert(own.presence.stream.label === "lobby", JSON.stringify(own));
    const other = await a.next((m) => m.presence, "join of b");
    assert(ids(other.presence.joins)[0] === b.sessionId, JSON.stringify(other));
    assert(other.presence.joins[0].user_id === b.session.user_id, JSON.stringify(other));
    const bOwn = await b.next((m) => m.presence, "b's own join");
    assert(ids(bOwn.presence.joins)[0] === b.sessionId, JSON.stringify(bOwn));
  });

  await check("onstreamdata: example.stream_send reaches both", async () => {
    await client.rpc(a.session, "example.stream_send", { ...stream, data: "hello stream" });
    for (const p of players) {
      const got = await p.next((m) => m.data, "stream data");
      assert(got.data.data === "hello stream", JSON.stringify(got));
      assert(got.data.stream.subject === stream.subject, JSON.stringify(got));
      assert(got.data.reliable === true, JSON.stringify(got));
      assert(!got.data.sender, JSON.stringify(got));
    }
  });

  await check("a disconnecting player is heard leaving", async () => {
    b.socket.disconnect(false);
    const left = await a.next((m) => m.presence?.leaves, "leave of b");
    assert(ids(left.presence.leaves)[0] === b.sessionId, JSON.stringify(left));
  });

  a.socket.disconnect(false);
  console.log("all nakama-js stream checks passed");
  process.exit(0);
} catch (e) {
  fail(e);
}
