//! `Nk`: the server-side API that game code calls, typed. Named after
//! Nakama's `nk` module, which its runtime hands to every function.
//!
//! Every call that touches the store goes through the persistence pool and
//! is awaited, so the shard keeps serving while it waits. Further areas
//! (leaderboards) are added here as their features land; groups' calls
//! are in `groups.rs`, friends' in `friends.rs`.

use std::rc::Rc;

use kairos_core::account::{Account, User};
use kairos_core::error::{ApiError, ApiResult};
use kairos_core::multi::{AccountChange, MultiUpdate};
use kairos_core::notification::Notification;
use kairos_core::storage::{
    self, StorageAck, StorageCaller, StorageCursor, StorageId, StorageObject, StorageWrite,
};
use kairos_core::wallet::{self, Wallet, WalletLedgerItem, WalletUpdate, WalletUpdateResult};
use uuid::Uuid;

use crate::realtime::streams;
use crate::shard::Shard;

/// Most updates one [`Nk::notifications_update`] applies.
pub const MAX_NOTIFICATION_UPDATES: usize = 1000;

/// The server API for one call of game code. Cheap to clone; it lives on
/// the shard that runs the call and is not `Send`.
#[derive(Clone)]
pub struct Nk {
    pub(super) shard: Rc<Shard>,
}

impl Nk {
    pub(crate) fn new(shard: Rc<Shard>) -> Nk {
        Nk { shard }
    }

    /// This node's name (`name` in the configuration), as in match ids.
    pub fn node(&self) -> &str {
        &self.shard.shared.config.name
    }

    /// The shard running this call.
    pub fn shard(&self) -> usize {
        self.shard.id
    }

    /// The node's configuration.
    pub fn config(&self) -> &kairos_core::config::Config {
        self.shard.config()
    }

    /// Nakama's `runtime.env`, by key: what game code's context carries
    /// as its `env`.
    pub fn env(&self) -> std::collections::BTreeMap<&str, &str> {
        self.shard.config().runtime.environment()
    }

    /// A user's account, with its devices and email.
    pub async fn account_get_id(&self, user_id: Uuid) -> ApiResult<Account> {
        self.shard
            .shared
            .persist
            .run(move |store| async move { store.get_account(user_id).await })
            .await
            .map_err(hide_internal)
    }

    /// Users by id and by username, in no particular order; unknown ones
    /// are left out.
    pub async fn users_get(&self, ids: Vec<Uuid>, usernames: Vec<String>) -> ApiResult<Vec<User>> {
        if ids.is_empty() && usernames.is_empty() {
            return Ok(Vec::new());
        }
        self.shard
            .shared
            .persist
            .run(move |store| async move { store.get_users(ids, usernames).await })
            .await
            .map_err(hide_internal)
    }

    /// Updates one user's profile as Nakama's `AccountUpdateId` does (the
    /// account update of [`Nk::multi_update`], alone): `None` leaves a
    /// field, `""` clears it (a username stays); the metadata must be a
    /// JSON object, a username valid, and some field set ("No fields to
    /// update.").
    pub async fn account_update_id(
        &self,
        user_id: Uuid,
        update: kairos_core::account::AccountUpdate,
    ) -> ApiResult<()> {
        if let Some(m) = &update.metadata
            && !kairos_core::channel::is_json_object(m)
        {
            return Err(ApiError::invalid("Metadata must be a JSON object."));
        }
        kairos_core::multi::check_account(&update)?;
        let update = kairos_core::multi::applied(&update);
        self.store(move |store| async move { store.update_account(user_id, update).await })
            .await
    }

    /// Accounts by user id, in the order asked; unknown users are left
    /// out, as Nakama's `AccountsGetId` leaves them.
    pub async fn accounts_get_id(&self, ids: Vec<Uuid>) -> ApiResult<Vec<Account>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            match self.account_get_id(id).await {
                Ok(a) => out.push(a),
                Err(e) if e.code == kairos_core::error::Code::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// One page of a user's stored notifications, oldest first: at most
    /// `limit`, after `cursor` (`""`: from the start), as
    /// `GET /v2/notification` lists them; returns them and the cursor
    /// that resumes after the last (`None` when the page is empty).
    pub async fn notifications_list(
        &self,
        user_id: Uuid,
        limit: usize,
        cursor: &str,
    ) -> ApiResult<(Vec<Notification>, Option<String>)> {
        use kairos_core::notification::NotificationCursor;
        let after = match cursor {
            "" => None,
            c => NotificationCursor::parse(c)?.after(),
        };
        let rows = self
            .store(
                move |store| async move { store.list_notifications(user_id, after, limit).await },
            )
            .await?;
        let next = rows
            .last()
            .map(|n| NotificationCursor::after_notification(n).encode());
        Ok((rows, next))
    }

    /// Deletes those of `ids` that are `user_id`'s stored notifications,
    /// as `DELETE /v2/notification` does for its caller.
    pub async fn notifications_delete(&self, user_id: Uuid, ids: Vec<Uuid>) -> ApiResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.store(move |store| async move { store.delete_notifications(user_id, ids).await })
            .await
    }

    /// The stored notifications among `ids`, of any user or only of
    /// `user_id`, as Nakama's `NotificationsGetId`.
    pub async fn notifications_get_id(
        &self,
        ids: Vec<Uuid>,
        user_id: Option<Uuid>,
    ) -> ApiResult<Vec<Notification>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.store(move |store| async move { store.get_notifications_by_id(ids, user_id).await })
            .await
    }

    /// Deletes the stored notifications among `ids`, of any user or only
    /// of `user_id`, as Nakama's `NotificationsDeleteId`.
    pub async fn notifications_delete_id(
        &self,
        ids: Vec<Uuid>,
        user_id: Option<Uuid>,
    ) -> ApiResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.store(move |store| async move { store.delete_notifications_by_id(ids, user_id).await })
            .await
    }

    /// Changes stored notifications, as Nakama's `NotificationsUpdate`:
    /// each update sets the fields it has (content, a JSON object;
    /// subject, 1 to 255 bytes; sender) on the notification of its id, of
    /// any user, all in one transaction; an id that is not stored changes
    /// nothing. At most [`MAX_NOTIFICATION_UPDATES`] updates.
    pub async fn notifications_update(
        &self,
        updates: Vec<kairos_core::notification::NotificationUpdate>,
    ) -> ApiResult<()> {
        if updates.len() > MAX_NOTIFICATION_UPDATES {
            return Err(ApiError::invalid(format!(
                "expects at most {MAX_NOTIFICATION_UPDATES} updates"
            )));
        }
        for u in &updates {
            u.validate()?;
        }
        if updates.is_empty() {
            return Ok(());
        }
        self.store(move |store| async move { store.update_notifications(updates).await })
            .await
    }

    /// Up to `count` users picked at random, as Nakama's `UsersGetRandom`
    /// picks them: the users after a random id, then, when too few, the
    /// first ones.
    pub async fn users_get_random(&self, count: usize) -> ApiResult<Vec<User>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let ids = self
            .random_ids(count, |after| {
                self.store(move |store| async move { store.user_ids_after(after, count).await })
            })
            .await?;
        self.users_get(ids, Vec::new()).await
    }

    /// Sends one notification from the server to every user, as Nakama's
    /// `NotificationSendAll`: persistent, it is stored for each user (in
    /// the background: this returns before every user has it) and
    /// delivered live; otherwise it only reaches the users connected now.
    pub fn notification_send_all(
        &self,
        subject: &str,
        content: serde_json::Value,
        code: i32,
        persistent: bool,
    ) -> ApiResult<()> {
        if !content.is_object() {
            return Err(ApiError::invalid(
                "expects content to be a JSON object".to_string(),
            ));
        }
        let template = Notification {
            id: Uuid::new_v4(),
            user_id: Uuid::nil(),
            subject: subject.to_string(),
            content: content.to_string(),
            code,
            sender_id: None,
            create_time: kairos_core::time::now_micros(),
            persistent,
        };
        template.validate()?;
        crate::realtime::notifications::send_all_later(&self.shard, template);
        Ok(())
    }

    /// Whether a user has a realtime session open on any shard.
    pub fn user_online(&self, user_id: Uuid) -> bool {
        self.shard.shared.registry.is_online(user_id)
    }

    /// Sends one notification to a user from the server (no sender):
    /// stored if `persistent`, and delivered at once to each of the
    /// user's live sockets, on whichever shard.
    pub async fn notification_send(
        &self,
        user_id: Uuid,
        subject: &str,
        content: serde_json::Value,
        code: i32,
        persistent: bool,
    ) -> ApiResult<()> {
        self.notification_send_from(user_id, subject, content, code, None, persistent)
            .await
    }

    /// As [`Nk::notification_send`], with a sender (`None`: the server),
    /// as Nakama's `NotificationSend` takes one.
    pub async fn notification_send_from(
        &self,
        user_id: Uuid,
        subject: &str,
        content: serde_json::Value,
        code: i32,
        sender_id: Option<Uuid>,
        persistent: bool,
    ) -> ApiResult<()> {
        if !content.is_object() {
            return Err(ApiError::invalid(
                "expects content to be a JSON object".to_string(),
            ));
        }
        let note = Notification {
            id: Uuid::new_v4(),
            user_id,
            subject: subject.to_string(),
            content: content.to_string(),
            code,
            sender_id,
            create_time: kairos_core::time::now_micros(),
            persistent,
        };
        note.validate()?;
        crate::realtime::notifications::send(&self.shard, vec![note])
            .await
            .map_err(hide_internal)
    }

    /// Creates an authoritative match of the handler registered as
    /// `module`, with `params` for its `match_init`, on this shard; returns
    /// its id, `"<uuid>.<node>"`, which clients `match_join`.
    ///
    /// It answers once the match's `match_init` has run: at once for a
    /// Rust handler, after what it waits on for a Lua one.
    pub async fn match_create(
        &self,
        module: &str,
        params: &serde_json::Value,
    ) -> ApiResult<String> {
        crate::realtime::matches::authoritative::create(&self.shard, module, params).await
    }

    /// Sends `data` to the handler of authoritative match `match_id`, on
    /// whichever shard runs it, and returns its answer. A match that does
    /// not exist (or has ended) is NOT_FOUND; a handler that refuses the
    /// signal gives FAILED_PRECONDITION with its reason.
    pub async fn match_signal(&self, match_id: &str, data: &str) -> ApiResult<String> {
        crate::realtime::matches::authoritative::send_signal(
            &self.shard,
            match_id,
            data.to_string(),
        )
        .await
    }

    /// What match `match_id` is now, relayed or authoritative, from the
    /// shard that owns it; `None` when it does not exist.
    pub async fn match_get(&self, match_id: &str) -> ApiResult<Option<super::MatchInfo>> {
        crate::realtime::matches::authoritative::get(&self.shard, match_id).await
    }

    /// Lists live matches on every shard, as `GET /v2/match` does (and
    /// Nakama's `MatchList`): at most `limit` (1 to 100); authoritative
    /// ones only when `authoritative`, else relayed ones too unless a
    /// `label` (exact) or `query` (Nakama's query syntax over
    /// `label.<field>`) filters; `min_size`/`max_size` bound the member
    /// count. A listing sees every match created, relabelled or joined
    /// before it was asked.
    pub async fn match_list(
        &self,
        limit: usize,
        authoritative: bool,
        label: Option<&str>,
        min_size: Option<usize>,
        max_size: Option<usize>,
        query: Option<&str>,
    ) -> ApiResult<Vec<super::MatchInfo>> {
        let wide = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        let request = crate::listing::ListRequest::new(
            Some(wide(limit)),
            Some(authoritative),
            label.map(str::to_string),
            min_size.map(wide),
            max_size.map(wide),
            query,
        )?;
        self.shard.shared.listing.list(request).await
    }

    // ---- streams (Nakama's StreamUser*, StreamCount, StreamClose, StreamSend)

    /// Adds session `session_id` of `user_id`, open on any shard, to
    /// `stream`; whether it is newly in it (a session already in it keeps
    /// its presence). Every member, the joiner included, receives a
    /// `stream_presence_event` unless `hidden`. A session that is not open
    /// (or not that user's) is NOT_FOUND; one already in
    /// `kairos.session.max_streams` streams is RESOURCE_EXHAUSTED; a
    /// reserved mode (0 to 7), a label over 256 bytes or a status over
    /// 2048 bytes is INVALID_ARGUMENT.
    pub async fn stream_user_join(
        &self,
        stream: &super::Stream,
        user_id: Uuid,
        session_id: Uuid,
        hidden: bool,
        persistence: bool,
        status: &str,
    ) -> ApiResult<bool> {
        let member = streams::Member {
            user_id,
            session_id,
            hidden,
            persistence,
            status,
        };
        streams::join(&self.shard, stream.id()?, member).await
    }

    /// Replaces a session's presence in `stream` (adding it if it was not
    /// in): members hear the old presence leave and the new one join, in
    /// one event, leaving out whichever is hidden. Errors as
    /// [`Nk::stream_user_join`].
    pub async fn stream_user_update(
        &self,
        stream: &super::Stream,
        user_id: Uuid,
        session_id: Uuid,
        hidden: bool,
        persistence: bool,
        status: &str,
    ) -> ApiResult<()> {
        let member = streams::Member {
            user_id,
            session_id,
            hidden,
            persistence,
            status,
        };
        streams::update(&self.shard, stream.id()?, member).await
    }

    /// Removes a session from `stream`; the remaining members hear it
    /// leave unless it was hidden. A session not in it, or not open, is
    /// no error.
    pub async fn stream_user_leave(
        &self,
        stream: &super::Stream,
        user_id: Uuid,
        session_id: Uuid,
    ) -> ApiResult<()> {
        streams::leave(&self.shard, stream.id()?, user_id, session_id).await
    }

    /// Removes `presence` from `stream`: [`Nk::stream_user_leave`] of its
    /// user and session.
    pub async fn stream_user_kick(
        &self,
        stream: &super::Stream,
        presence: &super::StreamPresence,
    ) -> ApiResult<()> {
        self.stream_user_leave(stream, presence.user_id, presence.session_id)
            .await
    }

    /// A session's presence in `stream`, if it is in it as `user_id`.
    pub async fn stream_user_get(
        &self,
        stream: &super::Stream,
        user_id: Uuid,
        session_id: Uuid,
    ) -> ApiResult<Option<super::StreamPresence>> {
        let p = streams::get(&self.shard, stream.id()?, user_id, session_id).await?;
        Ok(p.map(|p| self.stream_presence(p)))
    }

    /// The presences in `stream`, in join order: the hidden ones if
    /// `include_hidden`, the others if `include_not_hidden`.
    pub async fn stream_user_list(
        &self,
        stream: &super::Stream,
        include_hidden: bool,
        include_not_hidden: bool,
    ) -> ApiResult<Vec<super::StreamPresence>> {
        if !include_hidden && !include_not_hidden {
            return Ok(Vec::new());
        }
        let all = streams::list(&self.shard, stream.id()?).await?;
        Ok(all
            .into_iter()
            .filter(|p| {
                if p.hidden {
                    include_hidden
                } else {
                    include_not_hidden
                }
            })
            .map(|p| self.stream_presence(p))
            .collect())
    }

    /// How many presences `stream` has, hidden ones included.
    pub async fn stream_count(&self, stream: &super::Stream) -> ApiResult<usize> {
        streams::count(&self.shard, stream.id()?).await
    }

    /// Removes every presence from `stream`, without presence events.
    pub async fn stream_close(&self, stream: &super::Stream) -> ApiResult<()> {
        streams::close(&self.shard, stream.id()?).await
    }

    /// Sends `stream_data` (no sender) with `data` to every member of
    /// `stream`, or only to the members among the sessions `presences`
    /// lists (others are skipped). With `reliable` false, datagram
    /// transports may drop it. More than 64 KiB of data is
    /// INVALID_ARGUMENT. Not awaited: it reaches the stream after every
    /// call this code made before.
    pub fn stream_send(
        &self,
        stream: &super::Stream,
        data: &str,
        presences: Option<&[Uuid]>,
        reliable: bool,
    ) -> ApiResult<()> {
        let sessions = presences.map(<[Uuid]>::to_vec);
        streams::send(&self.shard, stream.id()?, data, sessions, reliable)
    }

    /// Sends an envelope given as Nakama's JSON (`{"<message>": {...}}`,
    /// an optional `cid` beside it) to every member of `stream`, or only
    /// to the members among the sessions `presences` lists, in each
    /// member's encoding, as Nakama's `StreamSendRaw`. The message must be
    /// one the server sends (`channel_message`, `notifications`,
    /// `stream_data`, ...), read as leniently as protojson reads it;
    /// otherwise, or past 64 KiB of JSON, INVALID_ARGUMENT "not a valid
    /// envelope: ...". Not awaited, as [`Nk::stream_send`].
    pub fn stream_send_raw(
        &self,
        stream: &super::Stream,
        envelope: &serde_json::Value,
        presences: Option<&[Uuid]>,
        reliable: bool,
    ) -> ApiResult<()> {
        use kairos_schema::rtapi::{ServerJson, decode_server_json};
        let id = stream.id()?;
        let size = envelope.to_string().len();
        if size > super::streams::MAX_DATA_LEN {
            return Err(ApiError::invalid(format!(
                "not a valid envelope: it must be at most {} bytes of JSON",
                super::streams::MAX_DATA_LEN
            )));
        }
        let (cid, message) = match decode_server_json(envelope) {
            Ok(ServerJson::Message {
                cid,
                message: Some(m),
            }) => (cid, m),
            Ok(ServerJson::Message { message: None, .. }) => {
                return Err(ApiError::invalid("not a valid envelope: no message"));
            }
            Ok(ServerJson::Unknown { name, .. }) => {
                return Err(ApiError::invalid(format!(
                    "not a valid envelope: `{name}` is not a message the server sends"
                )));
            }
            Err(e) => return Err(ApiError::invalid(format!("not a valid envelope: {e}"))),
        };
        let sessions = presences.map(<[Uuid]>::to_vec);
        streams::send_raw(&self.shard, id, cid, message, sessions, reliable);
        Ok(())
    }

    fn stream_presence(&self, p: crate::fanout::Presence) -> super::StreamPresence {
        super::StreamPresence {
            user_id: p.user_id,
            session_id: p.session_id,
            username: p.username,
            node: self.node().to_string(),
            hidden: p.hidden,
            persistence: p.persistence,
            status: p.status.unwrap_or_default(),
        }
    }

    // ---- end of streams

    /// Makes session `session_id` (open on any shard) follow the status
    /// of `users` (at most 1,000), as Nakama's `StatusFollow`: it receives
    /// their `status_presence_event`s from then on, as after its own
    /// `status_follow`, but is sent no `status` answer. Each followed user
    /// counts against the session's `kairos.session.max_streams`: past it
    /// nobody is followed (INVALID_ARGUMENT). A session that is not open
    /// is no error.
    pub async fn status_follow(&self, session_id: Uuid, users: Vec<Uuid>) -> ApiResult<()> {
        crate::realtime::status::for_session(&self.shard, session_id, users, true).await
    }

    /// Makes session `session_id` stop following the status of `users`
    /// (at most 1,000), as Nakama's `StatusUnfollow`.
    pub async fn status_unfollow(&self, session_id: Uuid, users: Vec<Uuid>) -> ApiResult<()> {
        crate::realtime::status::for_session(&self.shard, session_id, users, false).await
    }

    // ---- storage: game code reads and writes every object, whatever its
    // permissions; system-owned objects have the nil user id.

    /// The objects of `ids` that exist (each id's `version` is ignored).
    pub async fn storage_read(&self, ids: Vec<StorageId>) -> ApiResult<Vec<StorageObject>> {
        for id in &ids {
            storage::check_names(&id.collection, &id.key)?;
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.store(move |store| async move { store.storage_read(StorageCaller::System, ids).await })
            .await
    }

    /// Writes a batch, all or nothing, with Nakama's checks and version
    /// rules (`""`, `"*"` or a hash); acks in the order of `writes`.
    pub async fn storage_write(&self, writes: Vec<StorageWrite>) -> ApiResult<Vec<StorageAck>> {
        for w in &writes {
            storage::check_write(w)?;
        }
        if writes.is_empty() {
            return Ok(Vec::new());
        }
        let indexes = &self.shard.shared.storage_index;
        let picked = indexes.pick(&writes);
        let acks =
            self.store(move |store| async move {
                store.storage_write(StorageCaller::System, writes).await
            })
            .await?;
        indexes.written(&self.shard, picked, &acks).await;
        Ok(acks)
    }

    /// One page (at most `limit`, 1 to 100) of `collection`'s objects owned
    /// by `owner` (everyone's when `None`), as `caller` may see them
    /// (`None`: everything), after `cursor` (`""`: from the start).
    /// Returns the objects and the next page's cursor (`""` at the end).
    pub async fn storage_list(
        &self,
        caller: Option<Uuid>,
        owner: Option<Uuid>,
        collection: &str,
        limit: usize,
        cursor: &str,
    ) -> ApiResult<(Vec<StorageObject>, String)> {
        if !(1..=storage::MAX_LIST).contains(&limit) {
            return Err(ApiError::invalid(
                "Invalid limit - limit must be between 1 and 100.",
            ));
        }
        let after = match cursor {
            "" => None,
            c => Some(StorageCursor::parse(c)?),
        };
        let min_read = caller
            .map_or(StorageCaller::System, StorageCaller::User)
            .min_list_read(owner);
        let collection = collection.to_string();
        let rows = self
            .store(move |store| async move {
                store
                    .storage_list(collection, owner, min_read, after, limit + 1)
                    .await
            })
            .await?;
        Ok(storage::page(rows, limit))
    }

    /// Deletes `ids`, all or none; an id with a version deletes only that
    /// version, and fails the batch if it does not match.
    pub async fn storage_delete(&self, ids: Vec<StorageId>) -> ApiResult<()> {
        for id in &ids {
            storage::check_names(&id.collection, &id.key)?;
        }
        if ids.is_empty() {
            return Ok(());
        }
        let gone = ids.clone();
        self.store(
            move |store| async move { store.storage_delete(StorageCaller::System, ids).await },
        )
        .await?;
        self.shard.shared.storage_index.deleted(&gone);
        Ok(())
    }

    // ---- end of storage

    // ---- wallets: changed only by game code; the account's `wallet`.

    /// Adds `changeset` to a user's wallet (and records it in the ledger
    /// with `metadata`, a JSON object, when `ledger`). Returns the wallet
    /// after and before. NotFound "User account not found." for an unknown
    /// user; a negative result changes nothing and is InvalidArgument.
    pub async fn wallet_update(
        &self,
        user_id: Uuid,
        changeset: Wallet,
        metadata: &str,
        ledger: bool,
    ) -> ApiResult<(Wallet, Wallet)> {
        let update = WalletUpdate {
            user_id,
            changeset,
            metadata: metadata.to_string(),
        };
        let mut results = self.wallets_update(vec![update], ledger).await?;
        match results.pop() {
            Some(r) => Ok((r.updated, r.previous)),
            None => Err(ApiError::not_found("User account not found.")),
        }
    }

    /// Applies several wallet updates in one transaction, all or none;
    /// unknown users are skipped. Each metadata must be a JSON object (or
    /// empty).
    pub async fn wallets_update(
        &self,
        updates: Vec<WalletUpdate>,
        ledger: bool,
    ) -> ApiResult<Vec<WalletUpdateResult>> {
        check_wallet_metadata(&updates)?;
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        self.store(move |store| async move { store.wallets_update(updates, ledger).await })
            .await
    }

    /// Nakama's `MultiUpdate`: account updates, storage writes, storage
    /// deletes and wallet updates (recorded in the ledger with
    /// `update_ledger`) in one transaction and in that order, all or
    /// nothing. Returns the writes' acks (in the order of `writes`) and the
    /// wallet results (in the order applied; unknown users are skipped, as
    /// in [`Nk::wallets_update`]).
    ///
    /// Checked first, in Nakama's order: at most
    /// [`kairos_core::multi::MAX_ITEMS`] items in all; each account's
    /// metadata a JSON object; each write as [`Nk::storage_write`]; each
    /// delete's collection and key as [`Nk::storage_delete`]; each wallet
    /// update's metadata a JSON object or empty (all InvalidArgument).
    /// Then, in the transaction, each account update as Nakama checks it
    /// (`kairos_core::multi::check_account`: "Username invalid, no spaces
    /// or control characters allowed.", the profile fields' lengths, "No
    /// fields to update."), a taken username (AlreadyExists "Username is
    /// already in use."), the writes' version checks, a delete whose
    /// version does not match or whose object is gone when a version was
    /// given ("Storage delete rejected - not found, version check failed,
    /// or permission denied."), and a wallet going negative: any of them
    /// rejects everything.
    ///
    /// In an account update `None` leaves a field as it is and `""` clears
    /// it, except `username` (`""` leaves it) and `lang_tag` (which can't
    /// be cleared; trying is an error, as in Nakama); an account update of
    /// an unknown user changes nothing.
    pub async fn multi_update(
        &self,
        accounts: Vec<AccountChange>,
        writes: Vec<StorageWrite>,
        deletes: Vec<StorageId>,
        wallets: Vec<WalletUpdate>,
        update_ledger: bool,
    ) -> ApiResult<(Vec<StorageAck>, Vec<WalletUpdateResult>)> {
        let update = MultiUpdate {
            accounts,
            writes,
            deletes,
            wallets,
            ledger: update_ledger,
        };
        update.check()?;
        if update.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let indexes = &self.shard.shared.storage_index;
        let picked = indexes.pick(&update.writes);
        let gone = update.deletes.clone();
        let (acks, wallets) = self
            .store(move |store| async move { store.multi_update(update).await })
            .await?;
        indexes.deleted(&gone);
        indexes.written(&self.shard, picked, &acks).await;
        Ok((acks, wallets))
    }

    /// Sets `metadata`'s fields (a JSON object) over a ledger entry's
    /// metadata; NotFound "Wallet ledger item not found." for an unknown id.
    pub async fn wallet_ledger_update(
        &self,
        id: Uuid,
        metadata: &str,
    ) -> ApiResult<WalletLedgerItem> {
        if !kairos_core::channel::is_json_object(metadata) {
            return Err(ApiError::invalid("Metadata must be a JSON object."));
        }
        let metadata = metadata.to_string();
        self.store(move |store| async move { store.wallet_ledger_update(id, metadata).await })
            .await?
            .ok_or_else(|| ApiError::not_found("Wallet ledger item not found."))
    }

    /// One page (at most `limit`, 1 to 100) of a user's wallet ledger,
    /// newest first, after `cursor` (`""`: from the newest); returns the
    /// entries and the next page's cursor (`""` at the end).
    pub async fn wallet_ledger_list(
        &self,
        user_id: Uuid,
        limit: usize,
        cursor: &str,
    ) -> ApiResult<(Vec<WalletLedgerItem>, String)> {
        if !(1..=wallet::MAX_LEDGER_LIST).contains(&limit) {
            return Err(ApiError::invalid(
                "Invalid limit - limit must be between 1 and 100.",
            ));
        }
        let before = match cursor {
            "" => None,
            c => Some(wallet::LedgerCursor::parse(c)?.before()),
        };
        let mut rows = self
            .store(move |store| async move {
                store.wallet_ledger_list(user_id, before, limit + 1).await
            })
            .await?;
        let mut next = String::new();
        if rows.len() > limit {
            rows.truncate(limit);
            if let Some(last) = rows.last() {
                next = wallet::LedgerCursor::after(last).encode();
            }
        }
        Ok((rows, next))
    }

    // ---- end of wallets

    /// Runs a store call on the persistence pool, hiding internal details.
    pub(super) async fn store<T, F, Fut>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(std::sync::Arc<dyn kairos_store::Store>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ApiResult<T>> + Send + 'static,
    {
        self.shard
            .shared
            .persist
            .run(f)
            .await
            .map_err(hide_internal)
    }

    /// Waits `d` without holding the shard: a timer on its executor.
    pub async fn sleep(&self, d: std::time::Duration) {
        crate::rt::sleep(d).await;
    }

    /// Runs `f` on the persistence pool's blocking threads and awaits its
    /// result: the way to do CPU-heavy or blocking work (a slow hash, a
    /// blocking client library) without stalling the shard or the pool's
    /// query workers.
    pub async fn blocking<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.shard
            .shared
            .persist
            .blocking(f)
            .await
            .map_err(hide_internal)
    }

    /// The bcrypt cost of new hashes (`database.password_hash_cost`).
    pub fn password_hash_cost(&self) -> u32 {
        self.shard.shared.config.database.password_hash_cost
    }
}

impl Nk {
    /// `count` ids picked as Nakama picks random rows: those after a
    /// random id, then, if too few, the first ones, each id once. `after`
    /// reads at most `count` ids after the one it is given, in id order.
    pub(super) async fn random_ids<F, Fut>(&self, count: usize, after: F) -> ApiResult<Vec<Uuid>>
    where
        F: Fn(Uuid) -> Fut,
        Fut: std::future::Future<Output = ApiResult<Vec<Uuid>>>,
    {
        let mut ids = after(Uuid::new_v4()).await?;
        if ids.len() < count {
            for id in after(Uuid::nil()).await? {
                if ids.len() == count {
                    break;
                }
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        Ok(ids)
    }
}

/// InvalidArgument "Metadata must be a JSON object." unless each update's
/// metadata is empty or a JSON object.
fn check_wallet_metadata(updates: &[WalletUpdate]) -> ApiResult<()> {
    for u in updates {
        if !u.metadata.is_empty() && !kairos_core::channel::is_json_object(&u.metadata) {
            return Err(ApiError::invalid("Metadata must be a JSON object."));
        }
    }
    Ok(())
}

/// A store failure's detail is for the log, not for whoever called the
/// game code: game code that passes an error on with `?` shows its
/// caller only "Internal Server Error", as the REST handlers do.
pub(super) fn hide_internal(e: ApiError) -> ApiError {
    if e.code == kairos_core::error::Code::Internal {
        tracing::error!(error = %e.message, "server API call failed");
        ApiError::internal("Internal Server Error")
    } else {
        e
    }
}
