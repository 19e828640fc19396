// nakama-js over WebSocket and a Rust client over reliable UDP in the same
// authoritative match. The Rust test (tests/tests/nakama_js.rs) creates
// the example arena, joins it over reliable UDP, moves two steps right,
// then runs this script with KAIROS_MATCH_ID and KAIROS_OTHER_USER (the
// UDP player's user id). Here: join, see the UDP player's moves in the
// server's state, move up; the UDP player, seeing that, moves a third
// step, which shows here too. Not meant to run alone.

import { assert, check, fail, client, unique } from "./common.mjs";

const matchId = process.env.KAIROS_MATCH_ID;
const other = process.env.KAIROS_OTHER_USER;

// Resolves with the first state (op code 2) that satisfies `pred`.
function stateWhere(socket, pred, ms = 20000) {
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

const at = (state, user, x, y) => JSON.stringify(state.players?.[user]) === JSON.stringify([x, y]);

try {
  assert(matchId && other, "KAIROS_MATCH_ID and KAIROS_OTHER_USER are required");
  const session = await client.authenticateDevice(`mixed-${unique}`, true);
  const socket = client.createSocket(false, false);
  await socket.connect(session, true);

  await check("join the arena the UDP player is in", async () => {
    const m = await socket.joinMatch(matchId);
    assert(m.authoritative, JSON.stringify(m));
    assert((m.presences ?? []).some((p) => p.user_id === other), `no UDP player in ${JSON.stringify(m.presences)}`);
  });

  await check("the UDP player's moves show in the server's state", () =>
    stateWhere(socket, (s) => at(s, other, 2, 0)));

  await check("our move and the UDP player's answer show together", async () => {
    const seen = stateWhere(socket, (s) => at(s, session.user_id, 0, 1) && at(s, other, 3, 0));
    await socket.sendMatchState(matchId, 1, JSON.stringify({ dx: 0, dy: 1 }));
    await seen;
  });

  socket.disconnect(false);
  console.log("all nakama-js mixed arena checks passed");
  process.exit(0);
} catch (e) {
  fail(e);
}
