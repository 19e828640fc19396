// Four players on Kairos through the official Nakama JavaScript client,
// unchanged: a relayed match, chat in a room and by direct message with
// history, status follows, friends and notifications. Run against a server
// on 127.0.0.1:7350 (with two or more shards the players are spread over
// them):
//
//   cargo run --release -- --shards 2      (in another terminal)
//   cd tests/js && npm install && node social.mjs
//
// KAIROS_HOST / KAIROS_PORT / KAIROS_SERVER_KEY point it elsewhere.
// Exits non-zero, saying which step failed, if anything does not work.

import WebSocket from "ws";
import { assert, check, fail, client, unique } from "./common.mjs";

// A WebSocket that also remembers which
// shard served the socket (Kairos says so in a response header), so the
// script can make sure the players sit on different shards.
class ShardAwareWebSocket extends WebSocket {
  constructor(...args) {
    super(...args);
    this.on("upgrade", (res) => {
      this.kairosShard = res.headers["kairos-shard"];
    });
  }
}
globalThis.WebSocket = ShardAwareWebSocket;

const EVENTS = ["onmatchdata", "onmatchpresence", "onchannelmessage", "onchannelpresence", "onnotification", "onstatuspresence"];

// Queues every push a socket receives, so a step can wait for the one it
// expects without losing the others.
function inbox(socket) {
  const queues = Object.fromEntries(EVENTS.map((e) => [e, []]));
  const wake = Object.fromEntries(EVENTS.map((e) => [e, []]));
  for (const e of EVENTS) {
    socket[e] = (msg) => {
      queues[e].push(msg);
      wake[e].splice(0).forEach((w) => w());
    };
  }
  return {
    async next(event, pred = () => true, ms = 5000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const i = queues[event].findIndex(pred);
        if (i >= 0) return queues[event].splice(i, 1)[0];
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${event} in time`);
        await new Promise((resolve) => {
          const t = setTimeout(resolve, left);
          wake[event].push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
  };
}

async function connect(session) {
  const socket = client.createSocket(false, false);
  await socket.connect(session, true);
  return { socket, events: inbox(socket), shard: socket.adapter._socket.kairosShard };
}

try {
  const names = ["ana", "ben", "cai", "dee"];
  const players = await check("four players authenticate and connect", async () => {
    const ps = [];
    for (const n of names) {
      const session = await client.authenticateDevice(`social-${n}-${unique}`, true, `${n}_${unique}`);
      ps.push({ name: n, session, ...(await connect(session)) });
    }
    // Spread them over the shards, when there are several.
    for (let tries = 0; tries < 30 && ps.every((p) => p.shard === ps[0].shard); tries++) {
      const last = ps[3];
      last.socket.disconnect(false);
      Object.assign(last, await connect(last.session));
    }
    return ps;
  });
  const [ana, ben, cai, dee] = players;
  const shards = new Set(players.map((p) => p.shard));
  console.log(`     players on shards ${[...shards].join(", ")}`);
  const expect = Number(process.env.KAIROS_EXPECT_SHARDS ?? "1");
  assert(shards.size >= Math.min(expect, 4), `players spread over ${expect} shards`);

  await check("relayed match: create, join, data both ways, leave", async () => {
    const match = await ana.socket.createMatch();
    const joins = {};
    for (const [i, p] of players.slice(1).entries()) {
      const joined = await p.socket.joinMatch(match.match_id);
      joins[p.name] = joined;
      assert(joined.presences.length === i + 1, `${p.name} sees the ${i + 1} before`);
      // Everyone hears of the join, the joiner included (as in Nakama).
      for (const earlier of players.slice(0, i + 2)) {
        await earlier.events.next("onmatchpresence", (e) => (e.joins ?? []).some((j) => j.user_id === p.session.user_id));
      }
    }
    await ana.socket.sendMatchState(match.match_id, 1, "hello all");
    for (const p of [ben, cai, dee]) {
      const d = await p.events.next("onmatchdata");
      assert(d.op_code === 1 && new TextDecoder().decode(d.data) === "hello all", `${p.name} got ana's data`);
      assert(d.presence.user_id === ana.session.user_id, "sender presence");
    }
    // Dee answers Ana alone.
    const anaPresence = joins.dee.presences.find((q) => q.user_id === ana.session.user_id);
    await dee.socket.sendMatchState(match.match_id, 2, new Uint8Array([9, 9]), [anaPresence], true);
    const back = await ana.events.next("onmatchdata");
    assert(back.op_code === 2 && back.data[1] === 9 && back.presence.user_id === dee.session.user_id, "dee to ana");
    for (const p of [ben, cai, dee]) {
      await p.socket.leaveMatch(match.match_id);
      await ana.events.next("onmatchpresence", (e) => (e.leaves ?? []).some((l) => l.user_id === p.session.user_id));
    }
    await ana.socket.leaveMatch(match.match_id);
  });

  const room = `lobby-${unique}`;
  const channel = await check("room chat: four join and talk", async () => {
    let ch;
    for (const [i, p] of players.entries()) {
      ch = await p.socket.joinChat(room, 1, true, false);
      assert(ch.room_name === room && (ch.presences ?? []).length === i, `${p.name} joins and sees ${i}`);
    }
    for (const p of players) {
      await p.socket.writeChatMessage(ch.id, { text: `hi from ${p.name}` });
    }
    for (const p of players) {
      for (const from of players) {
        const m = await p.events.next("onchannelmessage", (m) => m.sender_id === from.session.user_id);
        assert(m.content.text === `hi from ${from.name}`, `${p.name} reads ${from.name}`);
      }
    }
    const ack = await ben.socket.writeChatMessage(ch.id, { text: "typo" });
    await ben.socket.updateChatMessage(ch.id, ack.message_id, { text: "fixed" });
    const upd = await ana.events.next("onchannelmessage", (m) => m.message_id === ack.message_id && m.code === 1);
    assert(upd.content.text === "fixed", "update seen");
    await ben.socket.removeChatMessage(ch.id, ack.message_id);
    await ana.events.next("onchannelmessage", (m) => m.message_id === ack.message_id && m.code === 2);
    return ch;
  });

  await check("room chat: read the history back", async () => {
    const seen = [];
    let cursor;
    for (let page = 0; page < 10; page++) {
      const list = await client.listChannelMessages(cai.session, channel.id, 3, true, cursor);
      seen.push(...list.messages);
      cursor = list.next_cursor;
      if (!cursor) break;
    }
    assert(seen.length === 4, `four messages kept (the removed one is gone): ${seen.length}`);
    seen.forEach((m, i) => assert(m.content.text === `hi from ${names[i]}`, `message ${i} in order`));
    const newest = await client.listChannelMessages(cai.session, channel.id, 1, false);
    assert(newest.messages[0].content.text === "hi from dee", "newest first when not forward");
  });

  await check("direct messages, with the 'wants to chat' notification", async () => {
    const dm = await ana.socket.joinChat(ben.session.user_id, 2, true, false);
    const note = await ben.events.next("onnotification", (n) => n.code === -1);
    assert(note.sender_id === ana.session.user_id && note.content.username === ana.session.username, "dm request");
    await ben.socket.joinChat(ana.session.user_id, 2, true, false);
    await ana.socket.writeChatMessage(dm.id, { text: "psst" });
    const m = await ben.events.next("onchannelmessage", (m) => m.channel_id === dm.id);
    assert(m.content.text === "psst", "dm received");
    const history = await client.listChannelMessages(ben.session, dm.id, 10, true);
    assert(history.messages.length === 1 && history.messages[0].content.text === "psst", "dm history");
  });

  await check("status: follow each other, see updates", async () => {
    for (const p of players) {
      const others = players.filter((q) => q !== p).map((q) => q.session.user_id);
      const status = await p.socket.followUsers(others);
      assert(status.presences.length >= 3, `${p.name} sees the others online: ${status.presences.length}`);
    }
    await ana.socket.updateStatus("in the lobby");
    for (const p of [ben, cai, dee]) {
      await p.events.next("onstatuspresence", (e) => (e.joins ?? []).some((j) => j.user_id === ana.session.user_id && j.status === "in the lobby"));
    }
  });

  await check("friends: invite, accept, list; notifications live and stored", async () => {
    await client.addFriends(ana.session, [ben.session.user_id]);
    const invite = await ben.events.next("onnotification", (n) => n.code === -2);
    assert(invite.subject.includes(ana.session.username), `invite subject: ${invite.subject}`);
    await client.addFriends(ben.session, undefined, [ana.session.username]);
    await ana.events.next("onnotification", (n) => n.code === -3);
    const list = await client.listFriends(ana.session);
    assert(list.friends.length === 1 && list.friends[0].user.id === ben.session.user_id && list.friends[0].state === 0, "ana and ben are friends");
    assert(list.friends[0].user.online === true, "ben shows online");
    const stored = await client.listNotifications(ben.session, 10);
    const codes = stored.notifications.map((n) => n.code);
    assert(codes.includes(-1) && codes.includes(-2), `ben's stored notifications: ${codes}`);
    await client.deleteNotifications(ben.session, stored.notifications.map((n) => n.id));
    const after = await client.listNotifications(ben.session, 10);
    assert(after.notifications.length === 0, "deleted");
  });

  await check("a block stops direct messages", async () => {
    await client.blockFriends(cai.session, [dee.session.user_id]);
    let refused = false;
    try {
      await dee.socket.joinChat(cai.session.user_id, 2, true, false);
    } catch (e) {
      refused = e.code === 3;
    }
    assert(refused, "dee cannot open a conversation with cai");
    const blocked = await client.listFriends(cai.session, 3);
    assert(blocked.friends.length === 1 && blocked.friends[0].user.id === dee.session.user_id, "cai lists the block");
  });

  for (const p of players) p.socket.disconnect(false);
  console.log("all nakama-js social checks passed");
  process.exit(0);
} catch (e) {
  fail(e);
}
