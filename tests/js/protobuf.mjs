// nakama-js with its protobuf adapter (@heroiclabs/nakama-js-protobuf),
// unchanged, sharing a relayed match and a chat room with a JSON client on
// Kairos. Run against a server on 127.0.0.1:7350:
//
//   cargo run --release                   (in another terminal)
//   cd tests/js && npm install && node protobuf.mjs
//
// KAIROS_HOST / KAIROS_PORT / KAIROS_SERVER_KEY point it elsewhere.

import { WebSocketAdapterPb } from "@heroiclabs/nakama-js-protobuf";
import { assert, check, fail, client, unique } from "./common.mjs";

function next(socket, event, pred = () => true, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} in time`)), ms);
    socket[event] = (msg) => {
      if (pred(msg)) {
        clearTimeout(timer);
        resolve(msg);
      }
    };
  });
}

try {
  const pbSession = await client.authenticateDevice(`pb-device-${unique}`, true, `pb_${unique}`);
  const jsonSession = await client.authenticateDevice(`json-device-${unique}`, true, `json_${unique}`);
  const pb = client.createSocket(false, false, new WebSocketAdapterPb());
  const json = client.createSocket(false, false);

  await check("protobuf socket connects and pings", async () => {
    await pb.connect(pbSession, true);
    await json.connect(jsonSession, true);
    const reply = await pb.send({ ping: {} });
    assert(reply.pong !== undefined, `pong: ${JSON.stringify(reply)}`);
  });

  await check("match data between a protobuf and a JSON client", async () => {
    const match = await json.createMatch();
    const seen = next(json, "onmatchpresence", (e) => (e.joins ?? []).some((p) => p.user_id === pbSession.user_id));
    // The joiner hears of its own join, as in Nakama.
    const own = next(pb, "onmatchpresence", (e) => (e.joins ?? []).some((p) => p.user_id === pbSession.user_id));
    const joined = await pb.joinMatch(match.match_id);
    assert(joined.match_id === match.match_id, "joined the same match");
    assert(joined.presences.some((p) => p.user_id === jsonSession.user_id), "the protobuf client sees the JSON one");
    await seen;
    await own;
    const again = await pb.joinMatch(match.match_id);
    assert(again.presences.length === 2, `joining again lists everyone: ${JSON.stringify(again)}`);

    const toJson = next(json, "onmatchdata");
    await pb.sendMatchState(match.match_id, 11, new Uint8Array([0, 1, 2, 250]));
    const a = await toJson;
    assert(a.op_code === 11 && a.data.length === 4 && a.data[3] === 250, `json got ${JSON.stringify(a)}`);
    assert(a.presence.user_id === pbSession.user_id, "sender is the protobuf client");

    const toPb = next(pb, "onmatchdata");
    await json.sendMatchState(match.match_id, 12, "from json", undefined, true);
    const b = await toPb;
    assert(Number(b.op_code) === 12 && new TextDecoder().decode(b.data) === "from json", `pb got ${JSON.stringify(b)}`);

    const left = next(json, "onmatchpresence", (e) => (e.leaves ?? []).some((p) => p.user_id === pbSession.user_id));
    await pb.leaveMatch(match.match_id);
    await left;
  });

  await check("chat between a protobuf and a JSON client", async () => {
    const room = `pb-room-${unique}`;
    const ch = await pb.joinChat(room, 1, true, false);
    await json.joinChat(room, 1, true, false);
    const got = next(json, "onchannelmessage");
    const ack = await pb.writeChatMessage(ch.id, { text: "hello from protobuf" });
    assert(ack.message_id, "acked");
    const m = await got;
    assert(m.content.text === "hello from protobuf" && m.sender_id === pbSession.user_id, `json read ${JSON.stringify(m)}`);
    const back = next(pb, "onchannelmessage", (m) => m.sender_id === jsonSession.user_id);
    await json.writeChatMessage(ch.id, { text: "hello from json" });
    const r = await back;
    assert(r.content.text === "hello from json", `pb read ${JSON.stringify(r)}`);
  });

  await check("a notification reaches the protobuf client", async () => {
    const note = next(pb, "onnotification", (n) => n.code === -2);
    await client.addFriends(jsonSession, [pbSession.user_id]);
    const n = await note;
    assert(n.sender_id === jsonSession.user_id, "from the JSON user");
  });

  pb.disconnect(false);
  json.disconnect(false);
  console.log("all nakama-js protobuf checks passed");
  process.exit(0);
} catch (e) {
  fail(e);
}
