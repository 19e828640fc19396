// The example authoritative arena played through the official Nakama
// JavaScript client, unchanged: a match created by an RPC, joined by two
// players (on different shards when the server has several), moves sent
// with sendMatchState, the server's state broadcast read from
// onmatchdata, a full match refusing a third player, a signal through an
// RPC called with the HTTP key, and the match found by listMatches with a
// label query (right after each change, as the server promises). Run against a server with the example
// modules on 127.0.0.1:7350:
//
//   cargo run --release -- --kairos.runtime.examples true      (another terminal)
//   cd tests/js && npm install && node arena.mjs
//
// KAIROS_HOST / KAIROS_PORT / KAIROS_SERVER_KEY / KAIROS_HTTP_KEY point it
// elsewhere. Exits non-zero, saying which step failed.

import { assert, check, fail, client, httpKey, unique } from "./common.mjs";

// Resolves with the first state (op code 2) that satisfies `pred`.
function stateWhere(socket, pred, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no such state in time")), ms);
    socket.onmatchdata = (m) => {
      if (m.op_code !== 2) return;
      const state = JSON.parse(new TextDecoder().decode(m.data));
      if (pred(state)) {
        clearTimeout(t);
        resolve(state);
      }
    };
  });
}

try {
  const players = [];
  for (const name of ["ann", "ben", "cat"]) {
    const session = await client.authenticateDevice(`arena-${name}-${unique}`, true);
    const socket = client.createSocket(false, false);
    await socket.connect(session, true);
    players.push({ name, session, socket });
  }
  const [ann, ben, cat] = players;

  const { match_id } = await check("create the arena by RPC", async () => {
    const r = await client.rpc(ann.session, "example.create_arena", { max_players: 2, tick_rate: 20 });
    assert(r.payload.match_id.endsWith(".kairos"), JSON.stringify(r.payload));
    return r.payload;
  });

  await check("two players join the authoritative match", async () => {
    const a = await ann.socket.joinMatch(match_id);
    const b = await ben.socket.joinMatch(match_id);
    assert(a.authoritative && b.authoritative, "authoritative");
    assert(JSON.parse(b.label).mode === "arena", b.label);
  });

  await check("listMatches finds it by a label query, with its size", async () => {
    // The label says 2 players: the handler updated it on the joins, and
    // a listing sees an update made before it was asked.
    const q = `+label.mode:arena +label.players:>=2 +label.players:<=2`;
    const list = await client.listMatches(cat.session, 100, true, undefined, undefined, undefined, q);
    const found = (list.matches ?? []).find((m) => m.match_id === match_id);
    assert(found, `not listed: ${JSON.stringify(list)}`);
    assert(found.authoritative && found.size === 2 && found.tick_rate === 20, JSON.stringify(found));
    assert(found.handler_name === "example.arena" && JSON.parse(found.label).players === 2, JSON.stringify(found));
    const none = await client.listMatches(cat.session, 10, true, undefined, 3, undefined, q);
    assert(!(none.matches ?? []).some((m) => m.match_id === match_id), "min_size 3 excludes it");
    const exact = await client.listMatches(cat.session, 10, true, found.label);
    assert((exact.matches ?? []).some((m) => m.match_id === match_id), "an exact label finds it");
  });

  await check("a third is refused: the match is full", async () => {
    let refused = null;
    try {
      await cat.socket.joinMatch(match_id);
    } catch (e) {
      refused = e;
    }
    assert(refused && refused.code === 5 && refused.message === "match full", JSON.stringify(refused));
  });

  await check("moves reach the server's loop and come back in its state", async () => {
    const seen = stateWhere(ben.socket, (s) =>
      JSON.stringify(s.players[ann.session.user_id]) === "[1,1]" &&
      JSON.stringify(s.players[ben.session.user_id]) === "[-1,0]");
    await ann.socket.sendMatchState(match_id, 1, JSON.stringify({ dx: 1, dy: 1 }));
    await ben.socket.sendMatchState(match_id, 1, JSON.stringify({ dx: -5, dy: 0 }));
    const state = await seen;
    // Ticks are numbered as Nakama numbers them: the first is 0.
    assert(Number.isInteger(state.tick) && state.tick >= 0, JSON.stringify(state));
  });

  await check("a signal through an RPC with the HTTP key", async () => {
    const r = await client.rpcHttpKey(httpKey, "example.signal_match", { match_id, data: "" });
    assert(JSON.parse(r.payload.answer).players === 2, JSON.stringify(r.payload));
  });

  await check("a leave reaches the other player", async () => {
    const left = new Promise((resolve) => {
      ann.socket.onmatchpresence = (e) => {
        if ((e.leaves ?? []).some((p) => p.user_id === ben.session.user_id)) resolve();
      };
    });
    await ben.socket.leaveMatch(match_id);
    await left;
  });

  for (const p of players) p.socket.disconnect(false);
  console.log("all nakama-js arena checks passed");
  process.exit(0);
} catch (e) {
  fail(e);
}
