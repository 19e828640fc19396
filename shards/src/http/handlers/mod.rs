//! Nakama's REST calls, one file per area.
//!
//! Handlers validate input on the shard (cheap, pure), then hand anything
//! that touches the database or hashes a password to the persistence pool
//! and await its reply; the shard never blocks.

mod account;
mod channels;
mod friends;
mod groups;
mod leaderboards;
mod matches;
mod matchmaker;
mod notifications;
mod params;
mod parties;
mod rpc;
mod storage;
mod tournaments;
mod transports;
mod users;

/// The REST encodings other parts of the crate reuse (the account export).
pub(crate) mod json {
    pub(crate) use super::account::account_json as account;
    pub(crate) use super::friends::friend_json as friend;
    pub(crate) use super::groups::group_json;
    pub(crate) use super::leaderboards::record_json;
    pub(crate) use super::storage::object_json;
}

use hyper::Method;
use kairos_core::error::{ApiError, ApiResult};

use super::auth::Caller;
use super::response::{self, HttpResponse};
use super::router::Call;
use super::routes::{self, Found, routes};
use crate::shard::Shard;

routes! {
    Healthcheck: GET "/healthcheck" Public => healthcheck;
    AuthenticateDevice: POST "/v2/account/authenticate/device" ServerKey => account::authenticate_device;
    AuthenticateEmail: POST "/v2/account/authenticate/email" ServerKey => account::authenticate_email;
    AuthenticateCustom: POST "/v2/account/authenticate/custom" ServerKey => account::authenticate_custom;
    SessionRefresh: POST "/v2/account/session/refresh" ServerKey => account::session_refresh;
    SessionLogout: POST "/v2/session/logout" Session => account::session_logout;
    GetAccount: GET "/v2/account" Session => account::get_account;
    UpdateAccount: PUT "/v2/account" Session => account::update_account;
    DeleteAccount: DELETE "/v2/account" Session => account::delete_account;
    GetUsers: GET "/v2/user" Session => users::get_users;
    LinkDevice: POST "/v2/account/link/device" Session => account::link_device;
    LinkEmail: POST "/v2/account/link/email" Session => account::link_email;
    LinkCustom: POST "/v2/account/link/custom" Session => account::link_custom;
    UnlinkDevice: POST "/v2/account/unlink/device" Session => account::unlink_device;
    UnlinkEmail: POST "/v2/account/unlink/email" Session => account::unlink_email;
    UnlinkCustom: POST "/v2/account/unlink/custom" Session => account::unlink_custom;
    ListChannelMessages: GET "/v2/channel/{channel_id}" Session => channels::list_messages;
    ListFriends: GET "/v2/friend" Session => friends::list;
    AddFriends: POST "/v2/friend" Session => friends::add;
    DeleteFriends: DELETE "/v2/friend" Session => friends::delete;
    BlockFriends: POST "/v2/friend/block" Session => friends::block;
    ListFriendsOfFriends: GET "/v2/friend/friends" Session => friends::list_friends_of_friends;
    ListGroups: GET "/v2/group" Session => groups::list;
    CreateGroup: POST "/v2/group" Session => groups::create;
    UpdateGroup: PUT "/v2/group/{group_id}" Session => groups::update;
    DeleteGroup: DELETE "/v2/group/{group_id}" Session => groups::delete;
    JoinGroup: POST "/v2/group/{group_id}/join" Session => groups::join;
    LeaveGroup: POST "/v2/group/{group_id}/leave" Session => groups::leave;
    AddGroupUsers: POST "/v2/group/{group_id}/add" Session => groups::add;
    KickGroupUsers: POST "/v2/group/{group_id}/kick" Session => groups::kick;
    BanGroupUsers: POST "/v2/group/{group_id}/ban" Session => groups::ban;
    PromoteGroupUsers: POST "/v2/group/{group_id}/promote" Session => groups::promote;
    DemoteGroupUsers: POST "/v2/group/{group_id}/demote" Session => groups::demote;
    ListGroupUsers: GET "/v2/group/{group_id}/user" Session => groups::list_users;
    ListUserGroups: GET "/v2/user/{user_id}/group" Session => groups::list_user_groups;
    ListLeaderboardRecords: GET "/v2/leaderboard/{leaderboard_id}" Session => leaderboards::list;
    WriteLeaderboardRecord: POST "/v2/leaderboard/{leaderboard_id}" Session => leaderboards::write;
    DeleteLeaderboardRecord: DELETE "/v2/leaderboard/{leaderboard_id}" Session => leaderboards::delete;
    ListLeaderboardRecordsAroundOwner: GET "/v2/leaderboard/{leaderboard_id}/owner/{owner_id}" Session => leaderboards::around;
    ListTournaments: GET "/v2/tournament" Session => tournaments::list_tournaments;
    JoinTournament: POST "/v2/tournament/{tournament_id}/join" Session => tournaments::join;
    ListTournamentRecords: GET "/v2/tournament/{tournament_id}" Session => tournaments::list;
    WriteTournamentRecord: PUT "/v2/tournament/{tournament_id}" Session => tournaments::write;
    WriteTournamentRecord2: POST "/v2/tournament/{tournament_id}" Session => tournaments::write;
    DeleteTournamentRecord: DELETE "/v2/tournament/{tournament_id}" Session => tournaments::delete;
    ListTournamentRecordsAroundOwner: GET "/v2/tournament/{tournament_id}/owner/{owner_id}" Session => tournaments::around;
    ListMatches: GET "/v2/match" Session => matches::list;
    ListParties: GET "/v2/party" Session => parties::list;
    GetMatchmakerStats: GET "/v2/matchmaker/stats" Session => matchmaker::stats;
    ListNotifications: GET "/v2/notification" Session => notifications::list;
    DeleteNotifications: DELETE "/v2/notification" Session => notifications::delete;
    WriteStorageObjects: PUT "/v2/storage" Session => storage::write;
    ReadStorageObjects: POST "/v2/storage" Session => storage::read;
    DeleteStorageObjects: PUT "/v2/storage/delete" Session => storage::delete;
    ListStorageObjects: GET "/v2/storage/{collection}" Session => storage::list;
    ListStorageObjects2: GET "/v2/storage/{collection}/{user_id}" Session => storage::list_user;
    RpcFunc: POST "/v2/rpc/{id}" HttpKeyOrSession => rpc::call;
    RpcFunc2: GET "/v2/rpc/{id}" HttpKeyOrSession => rpc::call;
    KairosTransports: GET "/v2/kairos/transports" Session => transports::transports;
    KairosUdpToken: POST "/v2/kairos/udp/token" Session => transports::udp_token;
}

impl Route {
    pub const COUNT: usize = Self::ALL.len();

    /// Position in [`Route::ALL`], for per-route tables.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The route for a request's method and path, with its path
    /// parameters.
    pub(in crate::http) fn find(method: &Method, path: &str) -> Found<Route> {
        routes::find(
            Route::ALL.iter().map(|r| (*r, r.method(), r.pattern())),
            method,
            path,
        )
    }
}

/// `GET /healthcheck`: the node is up.
async fn healthcheck(_shard: &Shard, _call: Call) -> ApiResult<HttpResponse> {
    Ok(response::empty())
}

#[cfg(test)]
mod tests {
    use super::{Found, Route};

    #[test]
    fn route_table_is_consistent() {
        for (i, r) in Route::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
            assert_eq!(r.name(), format!("{r:?}"));
            // Every route is found by its own method and pattern (with
            // its parameters filled in), and no two routes collide.
            let path = r.pattern().replace('{', "x").replace('}', "");
            match Route::find(&r.method(), &path) {
                Found::Route(found, _) => assert_eq!(found, *r, "{path}"),
                other => panic!("{path}: {other:?}"),
            }
        }
    }
}
