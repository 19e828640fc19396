// Groups through the official Nakama JavaScript client, unchanged:
// createGroup, joinGroup (open and closed), listGroups, listGroupUsers,
// addGroupUsers (accepting a join request), promoteGroupUsers,
// kickGroupUsers, leaveGroup, deleteGroup, listUserGroups, and the
// group's chat: socket joinChat(groupId, 3, ...), writeChatMessage, the
// membership messages heard live and kept in history. Run against a
// server on 127.0.0.1:7350:
//
//   cargo run --release                                        (another terminal)
//   cd tests/js && npm install && node groups.mjs
//
// KAIROS_HOST / KAIROS_PORT / KAIROS_SERVER_KEY point it elsewhere. Exits
// non-zero, saying which step failed, if anything does not work.

import { assert, check, fail, client, unique } from "./common.mjs";

async function refusal(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected a refusal");
}

// Queues a socket's channel messages, so a step can wait for the one it
// expects without losing the others.
function messages(socket) {
  const queue = [];
  let wake = [];
  socket.onchannelmessage = (m) => {
    queue.push(m);
    wake.splice(0).forEach((w) => w());
  };
  return async (pred, ms = 5000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = queue.findIndex(pred);
      if (i >= 0) return queue.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("no matching channel message in time");
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        wake.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  };
}

try {
  const owner = await check("authenticate the owner", () => client.authenticateDevice(`groups-o-${unique}`, true));
  const ana = await check("authenticate ana", () => client.authenticateDevice(`groups-a-${unique}`, true));
  const ben = await check("authenticate ben", () => client.authenticateDevice(`groups-b-${unique}`, true));
  const name = `Guild ${unique}`;

  const group = await check("createGroup creates an open group", async () => {
    const g = await client.createGroup(owner, { name, description: "d", lang_tag: "en", open: true, max_count: 10 });
    assert(g.id && g.name === name && g.open === true && g.edge_count === 1 && g.max_count === 10, JSON.stringify(g));
    assert(g.creator_id === owner.user_id, JSON.stringify(g));
    return g;
  });

  const socket = client.createSocket(false, false);
  await socket.connect(owner, true);
  const next = messages(socket);
  const channel = await check("the owner joins the group chat (type 3)", async () => {
    const ch = await socket.joinChat(group.id, 3, true, false);
    assert(ch.id === `3.${group.id}..` && ch.group_id === group.id, JSON.stringify(ch));
    return ch;
  });

  await check("joinGroup of an open group is heard in the chat (code 3)", async () => {
    assert(await client.joinGroup(ana, group.id), "joinGroup");
    const m = await next((m) => m.code === 3);
    assert(m.sender_id === ana.user_id && m.username === ana.username && m.group_id === group.id, JSON.stringify(m));
  });

  await check("writeChatMessage reaches the group channel", async () => {
    const ack = await socket.writeChatMessage(channel.id, { text: "welcome" });
    assert(ack.channel_id === channel.id && ack.group_id === group.id, JSON.stringify(ack));
    const m = await next((m) => m.code === 0);
    assert(m.content.text === "welcome", JSON.stringify(m));
  });

  await check("listGroups finds it by name", async () => {
    const r = await client.listGroups(owner, name, undefined, 10);
    assert(r.groups.length === 1 && r.groups[0].id === group.id && r.groups[0].edge_count === 2, JSON.stringify(r));
  });

  const closed = await check("a closed group takes a join request", async () => {
    const g = await client.createGroup(owner, { name: `Closed ${unique}`, open: false });
    assert(g.open === false && g.max_count === 100, JSON.stringify(g));
    await client.joinGroup(ben, g.id);
    const r = await client.listGroupUsers(owner, g.id, 3, 10);
    assert(r.group_users.length === 1 && r.group_users[0].user.id === ben.user_id && r.group_users[0].state === 3, JSON.stringify(r));
    return g;
  });

  await check("addGroupUsers accepts the request", async () => {
    assert(await client.addGroupUsers(owner, closed.id, [ben.user_id]), "addGroupUsers");
    const r = await client.listGroupUsers(owner, closed.id);
    const states = r.group_users.map((u) => `${u.user.id === owner.user_id ? "owner" : "ben"}:${u.state}`);
    assert(states.join() === "owner:0,ben:2", states.join());
  });

  await check("promoteGroupUsers makes an admin (code 7)", async () => {
    assert(await client.promoteGroupUsers(owner, group.id, [ana.user_id]), "promoteGroupUsers");
    await next((m) => m.code === 7 && m.sender_id === ana.user_id);
    const r = await client.listGroupUsers(owner, group.id, 1);
    assert(r.group_users.length === 1 && r.group_users[0].user.id === ana.user_id, JSON.stringify(r));
  });

  await check("kickGroupUsers removes a member (code 6)", async () => {
    await client.joinGroup(ben, group.id);
    await next((m) => m.code === 3 && m.sender_id === ben.user_id);
    assert(await client.kickGroupUsers(ana, group.id, [ben.user_id]), "kickGroupUsers");
    await next((m) => m.code === 6 && m.sender_id === ben.user_id);
    const r = await client.listGroupUsers(owner, group.id);
    assert(!r.group_users.some((u) => u.user.id === ben.user_id), JSON.stringify(r));
  });

  await check("a non-member cannot join the group chat", async () => {
    const other = client.createSocket(false, false);
    await other.connect(ben, false);
    const e = await refusal(other.joinChat(group.id, 3, true, false));
    assert(e.code === 3 && e.message === "Group not found: Invalid channel target", JSON.stringify(e));
    other.disconnect(false);
  });

  await check("listUserGroups lists a user's groups", async () => {
    const r = await client.listUserGroups(owner, owner.user_id);
    const ids = r.user_groups.map((ug) => ug.group.id).sort();
    assert(ids.join() === [group.id, closed.id].sort().join(), JSON.stringify(r));
    assert(r.user_groups.every((ug) => ug.state === 0), JSON.stringify(r));
  });

  await check("leaveGroup is heard (code 5); the last superadmin cannot leave", async () => {
    assert(await client.leaveGroup(ana, group.id), "leaveGroup");
    await next((m) => m.code === 5 && m.sender_id === ana.user_id);
    const e = await refusal(client.leaveGroup(owner, closed.id));
    assert(e.status === 400, `status ${e.status}`);
    const body = await e.json();
    assert(body.message === "Cannot leave group when you are the last superadmin.", JSON.stringify(body));
  });

  await check("the history holds the membership messages", async () => {
    const r = await client.listChannelMessages(owner, channel.id, 100, true);
    const codes = r.messages.map((m) => m.code);
    assert(codes.join() === "3,0,7,3,6,5", codes.join());
  });

  await check("deleteGroup deletes it", async () => {
    assert(await client.deleteGroup(owner, group.id), "deleteGroup");
    const r = await client.listGroups(owner, name, undefined, 10);
    assert(r.groups.length === 0, JSON.stringify(r));
  });

  socket.disconnect(false);
  console.log("all nakama-js groups checks passed");
  process.exit(0);
} catch (e) {
  fail(e);
}
