// The matchmaker through the official Nakama JavaScript client, unchanged:
// socket.addMatchmaker with a query and string and numeric properties,
// onmatchmakermatched, joinMatch(undefined, token) forming a relayed
// match, the example hook's authoritative arena for `mode: arena`,
// removeMatchmaker, and a refused add. Run against a server with the
// examples and short passes on 127.0.0.1:7350:
//
//   cargo run --release -- --kairos.runtime.examples true --kairos.matchmaker.interval_ms 100
//   cd tests/js && npm install && node matchmaker.mjs
//
// KAIROS_HOST / KAIROS_PORT / KAIROS_SERVER_KEY point it elsewhere. Exits
// non-zero, saying which step failed.

import { assert, check, fail, client, unique } from "./common.mjs";

// Resolves with the next matchmaker_matched the socket hears.
function matched(socket, ms = 10000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("not matched in time")), ms);
    socket.onmatchmakermatched = (m) => {
      clearTimeout(t);
      resolve(m);
    };
  });
}

async function refusal(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected a refusal");
}

try {
  const players = [];
  for (const name of ["ann", "ben", "cat", "dan"]) {
    const session = await client.authenticateDevice(`mm-${name}-${unique}`, true);
    const socket = client.createSocket(false, false);
    await socket.connect(session, true);
    players.push({ name, session, socket });
  }
  const [ann, ben, cat, dan] = players;
  const run = `duel${unique}`;

  const [ma, mb] = await check("two players with matching properties and queries are matched", async () => {
    const waits = [matched(ann.socket), matched(ben.socket)];
    const query = `+properties.run:${run} +properties.skill:>=10 +properties.skill:<=20`;
    const ta = await ann.socket.addMatchmaker(query, 2, 2, { run, mode: "duel" }, { skill: 12 });
    const tb = await ben.socket.addMatchmaker(query, 2, 2, { run, mode: "duel" }, { skill: 18 });
    assert(ta.ticket && tb.ticket && ta.ticket !== tb.ticket, JSON.stringify([ta, tb]));
    const [ma, mb] = await Promise.all(waits);
    assert(ma.ticket === ta.ticket && mb.ticket === tb.ticket, "tickets");
    assert(ma.users.length === 2 && mb.users.length === 2, JSON.stringify(ma));
    assert(ma.self.presence.user_id === ann.session.user_id, JSON.stringify(ma.self));
    const benSeen = ma.users.find((u) => u.presence.user_id === ben.session.user_id);
    assert(benSeen && benSeen.numeric_properties.skill === 18, JSON.stringify(ma.users));
    assert(ma.token && ma.token === mb.token && !ma.match_id, JSON.stringify(ma));
    return [ma, mb];
  });

  await check("joining by token forms one relayed match", async () => {
    const a = await ann.socket.joinMatch(undefined, ma.token);
    const b = await ben.socket.joinMatch(undefined, mb.token);
    assert(a.match_id === b.match_id && a.match_id.endsWith("."), JSON.stringify([a, b]));
    assert(b.presences.some((p) => p.user_id === ann.session.user_id), JSON.stringify(b));
  });

  await check("the matched hook puts arena players in an authoritative match", async () => {
    const arena = `arena${unique}`;
    const waits = [matched(cat.socket), matched(dan.socket)];
    await cat.socket.addMatchmaker(`+properties.run:${arena}`, 2, 2, { run: arena, mode: "arena" });
    await dan.socket.addMatchmaker(`+properties.run:${arena}`, 2, 2, { run: arena, mode: "arena" });
    const [mc, md] = await Promise.all(waits);
    assert(mc.match_id && mc.match_id === md.match_id && !mc.token, JSON.stringify(mc));
    const m = await cat.socket.joinMatch(mc.match_id);
    assert(m.authoritative === true, JSON.stringify(m));
  });

  await check("removeMatchmaker cancels a ticket, once", async () => {
    const t = await ann.socket.addMatchmaker(`+properties.run:alone${unique}`, 2, 2, { run: `solo${unique}` });
    await ann.socket.removeMatchmaker(t.ticket);
    const e = await refusal(ann.socket.removeMatchmaker(t.ticket));
    assert(e.code === 3 && e.message === "Matchmaker ticket not found", JSON.stringify(e));
  });

  await check("bad counts are refused with Nakama's error", async () => {
    const e = await refusal(ann.socket.addMatchmaker("*", 1, 2));
    assert(e.code === 3 && e.message === "Invalid minimum count, must be >= 2", JSON.stringify(e));
  });

  for (const p of players) p.socket.disconnect(false);
  console.log("all nakama-js matchmaker checks passed");
  process.exit(0);
} catch (e) {
  fail(e);
}
