// The storage engine through the official Nakama JavaScript client,
// unchanged: writeStorageObjects, readStorageObjects, listStorageObjects
// (with its cursor) and deleteStorageObjects, another player's view of
// public and private objects, and a version conflict rejected. Run against
// a server on 127.0.0.1:7350:
//
//   cargo run --release                                        (another terminal)
//   cd tests/js && npm install && node storage.mjs
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

try {
  const me = await check("authenticate a player", () => client.authenticateDevice(`storage-a-${unique}`, true));
  const other = await check("authenticate another", () => client.authenticateDevice(`storage-b-${unique}`, true));
  const collection = `saves_${unique}`;

  const acks = await check("writeStorageObjects writes three objects", async () => {
    const r = await client.writeStorageObjects(me, [
      { collection, key: "slot1", value: { hp: 10 } },
      { collection, key: "slot2", value: { hp: 20 }, permission_read: 2, permission_write: 1 },
      { collection, key: "slot3", value: { hp: 30 }, permission_read: 2 },
    ]);
    assert(r.acks.length === 3 && r.acks[0].key === "slot1" && r.acks[0].version, JSON.stringify(r));
    return r.acks;
  });

  await check("readStorageObjects reads them back", async () => {
    const r = await client.readStorageObjects(me, {
      object_ids: [{ collection, key: "slot1", user_id: me.user_id }],
    });
    const o = r.objects[0];
    assert(r.objects.length === 1 && o.value.hp === 10 && o.version === acks[0].version, JSON.stringify(r));
    assert(o.permission_read === 1 && o.permission_write === 1 && o.user_id === me.user_id, JSON.stringify(o));
  });

  await check("listStorageObjects pages through the cursor", async () => {
    const keys = [];
    let cursor;
    for (let i = 0; i < 10; i++) {
      const page = await client.listStorageObjects(me, collection, me.user_id, 2, cursor);
      keys.push(...page.objects.map((o) => o.key));
      cursor = page.cursor;
      if (!cursor) break;
    }
    assert(keys.sort().join() === "slot1,slot2,slot3", keys.join());
  });

  await check("another player reads and lists only the public objects", async () => {
    const r = await client.readStorageObjects(other, {
      object_ids: ["slot1", "slot2"].map((key) => ({ collection, key, user_id: me.user_id })),
    });
    assert(r.objects.length === 1 && r.objects[0].key === "slot2", JSON.stringify(r));
    const l = await client.listStorageObjects(other, collection, me.user_id, 10);
    assert(l.objects.map((o) => o.key).sort().join() === "slot2,slot3", JSON.stringify(l));
  });

  await check("a write with a stale version is rejected (400)", async () => {
    await client.writeStorageObjects(me, [{ collection, key: "slot1", value: { hp: 11 }, version: acks[0].version }]);
    const e = await refusal(
      client.writeStorageObjects(me, [{ collection, key: "slot1", value: { hp: 12 }, version: acks[0].version }]),
    );
    assert(e.status === 400, `status ${e.status}`);
    const body = await e.json();
    assert(body.code === 3 && body.message === "Storage write rejected - version check failed.", JSON.stringify(body));
    const e2 = await refusal(client.writeStorageObjects(me, [{ collection, key: "slot2", value: {}, version: "*" }]));
    assert(e2.status === 400, `status ${e2.status}`);
  });

  await check("deleteStorageObjects deletes, and they are gone", async () => {
    await client.deleteStorageObjects(me, {
      object_ids: [
        { collection, key: "slot1" },
        { collection, key: "slot2", version: acks[1].version },
      ],
    });
    const r = await client.readStorageObjects(me, {
      object_ids: ["slot1", "slot2", "slot3"].map((key) => ({ collection, key, user_id: me.user_id })),
    });
    assert(r.objects.length === 1 && r.objects[0].key === "slot3", JSON.stringify(r));
  });

  console.log("all nakama-js storage checks passed");
  process.exit(0);
} catch (e) {
  fail(e);
}
