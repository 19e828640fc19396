// Parties through the official Nakama JavaScript client, unchanged: an
// open party (socket.createParty, joinParty, onpartypresence, onparty,
// sendPartyData and onpartydata, promotePartyMember and onpartyleader,
// the leader leaving), then a closed one (onpartyjoinrequest,
// listPartyJoinRequests, acceptPartyMember, closeParty and
// onpartyclose). JSON only: the pinned @heroiclabs/nakama-js-protobuf
// 1.4.0 predates nakama-common's renumbering of `Party` (hidden and
// label became fields 3 and 8), so it misreads the `party` message of
// current Nakama and of Kairos alike; tests/tests/parties.rs plays a
// party over protobuf with the Rust client. Run against a server on
// 127.0.0.1:7350:
//
//   cargo run --release                                        (another terminal)
//   cd tests/js && npm install && node parties.mjs
//
// KAIROS_HOST / KAIROS_PORT / KAIROS_SERVER_KEY point it elsewhere. Exits
// non-zero, saying which step failed, if anything does not work.

import { assert, check, fail, client, unique } from "./common.mjs";

/// A socket that keeps every party push it receives, and waits for the
/// first one (since the last taken) of a kind.
function listen(socket) {
  const seen = [];
  let wake = () => {};
  const keep = (kind) => (event) => {
    seen.push({ kind, event });
    wake();
  };
  socket.onparty = keep("party");
  socket.onpartypresence = keep("presence");
  socket.onpartydata = keep("data");
  socket.onpartyleader = keep("leader");
  socket.onpartyjoinrequest = keep("request");
  socket.onpartyclose = keep("close");
  return async function next(kind, pred = () => true) {
    const deadline = Date.now() + 5000;
    for (;;) {
      const i = seen.findIndex((m) => m.kind === kind && pred(m.event));
      if (i >= 0) return seen.splice(i, 1)[0].event;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${kind}: got ${JSON.stringify(seen)}`);
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(resolve, left);
      });
    }
  };
}

const sessions = (list) => (list ?? []).map((p) => p.session_id);

try {
  const players = {};
  for (const name of ["a", "b", "c"]) {
    const session = await check(`authenticate ${name}`, () =>
      client.authenticateDevice(`parties-${name}-${unique}`, true),
    );
    const socket = client.createSocket(false, false);
    await check(`connect ${name}`, () => socket.connect(session, true));
    players[name] = { session, socket, next: listen(socket) };
  }
  const { a, b, c } = players;

  const party = await check("a creates an open party", async () => {
    const p = await a.socket.createParty(true, 3);
    assert(p.party_id.includes("."), JSON.stringify(p));
    assert(p.leader.user_id === a.session.user_id, JSON.stringify(p));
    assert(p.self.session_id === p.leader.session_id, JSON.stringify(p));
    assert(p.max_size === 3 && p.open === true, JSON.stringify(p));
    a.presence = p.self;
    return p;
  });

  await check("onpartypresence: a hears its own join", async () => {
    const e = await a.next("presence");
    assert(sessions(e.joins)[0] === a.presence.session_id, JSON.stringify(e));
  });

  await check("b joins: onparty, and both hear the join", async () => {
    await b.socket.joinParty(party.party_id);
    const p = await b.next("party");
    assert(p.presences.length === 2, JSON.stringify(p));
    assert(p.leader.session_id === a.presence.session_id, JSON.stringify(p));
    b.presence = p.self;
    for (const who of [a, b]) {
      const e = await who.next("presence", (e) => sessions(e.joins)[0] === b.presence.session_id);
      assert(e.party_id === party.party_id, JSON.stringify(e));
    }
  });

  await check("sendPartyData reaches the other member's onpartydata", async () => {
    await b.socket.sendPartyData(party.party_id, 7, "hello");
    const d = await a.next("data");
    assert(d.op_code === 7, JSON.stringify(d));
    assert(new TextDecoder().decode(d.data) === "hello", JSON.stringify(d));
    assert(d.presence.session_id === b.presence.session_id, JSON.stringify(d));
  });

  await check("promotePartyMember: both hear onpartyleader", async () => {
    await a.socket.promotePartyMember(party.party_id, b.presence);
    for (const who of [a, b]) {
      const l = await who.next("leader");
      assert(l.presence.session_id === b.presence.session_id, JSON.stringify(l));
    }
  });

  await check("the leader leaves: a hears the leave and leads", async () => {
    await b.socket.leaveParty(party.party_id);
    const e = await a.next("presence", (e) => (e.leaves ?? []).length > 0);
    assert(sessions(e.leaves)[0] === b.presence.session_id, JSON.stringify(e));
    const l = await a.next("leader");
    assert(l.presence.session_id === a.presence.session_id, JSON.stringify(l));
  });

  const closed = await check("c creates a closed party", async () => {
    const p = await c.socket.createParty(false, 2);
    assert(p.open !== true, JSON.stringify(p));
    c.presence = p.self;
    return p;
  });

  await check("b asks to join: c hears onpartyjoinrequest", async () => {
    await b.socket.joinParty(closed.party_id);
    const r = await c.next("request");
    assert(r.party_id === closed.party_id, JSON.stringify(r));
    assert(sessions(r.presences)[0] === b.presence.session_id, JSON.stringify(r));
  });

  await check("listPartyJoinRequests lists b", async () => {
    const r = await c.socket.listPartyJoinRequests(closed.party_id);
    assert(sessions(r.presences).join() === b.presence.session_id, JSON.stringify(r));
  });

  await check("acceptPartyMember: b gets the party, c hears the join", async () => {
    await c.socket.acceptPartyMember(closed.party_id, b.presence);
    const p = await b.next("party", (p) => p.party_id === closed.party_id);
    assert(p.presences.length === 2, JSON.stringify(p));
    const e = await c.next("presence", (e) => sessions(e.joins)[0] === b.presence.session_id);
    assert(e.party_id === closed.party_id, JSON.stringify(e));
  });

  await check("closeParty: b hears onpartyclose", async () => {
    await c.socket.closeParty(closed.party_id);
    const e = await b.next("close");
    assert(e.party_id === closed.party_id, JSON.stringify(e));
  });

  await check("a closed party is gone: joining it is refused", async () => {
    let refused = null;
    try {
      await a.socket.joinParty(closed.party_id);
    } catch (e) {
      refused = e;
    }
    assert(refused?.code === 3, JSON.stringify(refused));
    assert(refused.message === "Error joining party: party not found", JSON.stringify(refused));
  });

  for (const p of Object.values(players)) p.socket.disconnect(false);
  console.log("all nakama-js party checks passed");
} catch (e) {
  fail(e);
}
