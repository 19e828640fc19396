// The matchmaker through the official Nakama JavaScript client, unchanged:
// socket.addMatchmaker with a query and string and numeric properties,
// onmatchmakermatched, joinMatch(undefined, token) forming a relayed
// match, the example hook's authoritative arena for `mode: arena`,
// removeMatchmaker, a refused add, and a party queued by its leader
// (addMatchmakerParty, onpartymatchmakerticket, removeMatchmakerParty),
// matched with two solo players and joined by token. Run against a server with the
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

  await check("a party queues as one ticket and is matched together", async () => {
    const party = await ann.socket.createParty(true, 2);
    const joined = new Promise((resolve) => {
      ann.socket.onpartypresence = (e) => {
        if ((e.joins || []).some((p) => p.user_id === ben.session.user_id)) resolve();
      };
    });
    await ben.socket.joinParty(party.party_id);
    await joined;
    const told = new Promise((resolve) => {
      ben.socket.onpartymatchmakerticket = (t) => resolve(t);
    });
    const squad = `squad${unique}`;
    const waits = [matched(ann.socket), matched(ben.socket), matched(cat.socket), matched(dan.socket)];
    const query = `+properties.run:${squad}`;
    const pt = await ann.socket.addMatchmakerParty(party.party_id, query, 4, 4, { run: squad }, { skill: 30 });
    assert(pt.party_id === party.party_id && pt.ticket, JSON.stringify(pt));
    const heard = await told;
    assert(heard.ticket === pt.ticket && heard.party_id === party.party_id, JSON.stringify(heard));
    await cat.socket.addMatchmaker(query, 4, 4, { run: squad });
    await dan.socket.addMatchmaker(query, 4, 4, { run: squad });
    const [ma, mb, mc, md] = await Promise.all(waits);
    assert(ma.ticket === pt.ticket && mb.ticket === pt.ticket, JSON.stringify([ma, mb]));
    assert(mc.ticket !== pt.ticket && md.ticket !== pt.ticket, JSON.stringify([mc, md]));
    for (const m of [ma, mb, mc, md]) {
      assert(m.users.length === 4 && m.token === ma.token, JSON.stringify(m));
    }
    const members = ma.users.filter((u) => u.party_id === party.party_id).map((u) => u.presence.user_id);
    assert(
      members.length === 2 && members.includes(ann.session.user_id) && members.includes(ben.session.user_id),
      JSON.stringify(ma.users),
    );
    assert(mb.self.presence.user_id === ben.session.user_id && mb.self.party_id === party.party_id, JSON.stringify(mb.self));
    const joins = await Promise.all(players.map((p, i) => p.socket.joinMatch(undefined, [ma, mb, mc, md][i].token)));
    assert(joins.every((j) => j.match_id === joins[0].match_id), JSON.stringify(joins.map((j) => j.match_id)));
    return party;
  });

  await check("only the leader queues a party, and removeMatchmakerParty cancels its ticket", async () => {
    const party = await cat.socket.createParty(true, 2);
    const joined = new Promise((resolve) => {
      cat.socket.onpartypresence = (e) => {
        if ((e.joins || []).some((p) => p.user_id === dan.session.user_id)) resolve();
      };
    });
    await dan.socket.joinParty(party.party_id);
    await joined;
    const e = await refusal(dan.socket.addMatchmakerParty(party.party_id, "*", 2, 4));
    assert(e.code === 3 && e.message === "Error adding party to matchmaker: party leader only", JSON.stringify(e));
    const t = await cat.socket.addMatchmakerParty(party.party_id, `+properties.run:none${unique}`, 4, 4, { run: `p${unique}` });
    await cat.socket.removeMatchmakerParty(party.party_id, t.ticket);
    const again = await refusal(cat.socket.removeMatchmakerParty(party.party_id, t.ticket));
    assert(again.code === 3 && again.message === "Error closing party: matchmaker ticket not found", JSON.stringify(again));
    await cat.socket.closeParty(party.party_id);
  });

  for (const p of players) p.socket.disconnect(false);
  console.log("all nakama-js matchmaker checks passed");
  process.exit(0);
} catch (e) {
  fail(e);
}
