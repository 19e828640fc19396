//! Nakama's REST calls, one file per area.
//!
//! Handlers validate input on the shard (cheap, pure), then hand anything
//! that touches the database or hashes a password to the persistence pool
//! and await its reply; the shard never blocks.

mod account;
mod channels;
mod friends;
mod notifications;
mod params;
mod transports;
mod users;

use std::rc::Rc;

use kairos_core::error::{ApiError, ApiResult};

use super::auth::Caller;
use super::response::{self, HttpResponse};
use super::router::Call;
use crate::shard::Shard;

/// Declares [`Route`] with [`Route::ALL`] and [`Route::name`] from one list,
/// so that a new route is one line here (and one in the router).
macro_rules! routes {
    ($($route:ident),+ $(,)?) => {
        /// Every REST operation Kairos serves.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Route {
            $($route,)+
        }

        impl Route {
            /// Every route, in declaration order (`ALL[r.index()] == r`).
            pub const ALL: &'static [Route] = &[$(Route::$route,)+];

            /// Nakama's gRPC method name, which its metrics are named after
            /// (`<prefix>_<Method>_count`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Route::$route => stringify!($route),)+
                }
            }
        }
    };
}

routes! {
    Healthcheck,
    AuthenticateDevice,
    AuthenticateEmail,
    AuthenticateCustom,
    SessionRefresh,
    SessionLogout,
    GetAccount,
    UpdateAccount,
    DeleteAccount,
    GetUsers,
    LinkDevice,
    LinkEmail,
    LinkCustom,
    UnlinkDevice,
    UnlinkEmail,
    UnlinkCustom,
    ListChannelMessages,
    ListFriends,
    AddFriends,
    DeleteFriends,
    BlockFriends,
    ListFriendsOfFriends,
    ListNotifications,
    DeleteNotifications,
    KairosTransports,
    KairosUdpToken,
}

impl Route {
    pub const COUNT: usize = Self::ALL.len();

    /// Position in [`Route::ALL`], for per-route tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

pub async fn dispatch(
    route: Route,
    shard: Rc<Shard>,
    caller: Option<Caller>,
    call: Call,
) -> ApiResult<HttpResponse> {
    use Route::*;
    // The router guarantees a caller for session routes.
    let me = || {
        caller
            .clone()
            .ok_or_else(|| ApiError::unauthenticated("Auth token required"))
    };
    let shard = &*shard;
    match route {
        Healthcheck => Ok(response::empty()),
        AuthenticateDevice => account::authenticate_device(shard, call).await,
        AuthenticateEmail => account::authenticate_email(shard, call).await,
        AuthenticateCustom => account::authenticate_custom(shard, call).await,
        SessionRefresh => account::session_refresh(shard, call).await,
        SessionLogout => account::session_logout(shard, me()?, call).await,
        GetAccount => account::get_account(shard, me()?).await,
        UpdateAccount => account::update_account(shard, me()?, call).await,
        DeleteAccount => account::delete_account(shard, me()?).await,
        GetUsers => users::get_users(shard, call).await,
        LinkDevice => account::link_device(shard, me()?, call).await,
        LinkEmail => account::link_email(shard, me()?, call).await,
        LinkCustom => account::link_custom(shard, me()?, call).await,
        UnlinkDevice => account::unlink_device(shard, me()?, call).await,
        UnlinkEmail => account::unlink_email(shard, me()?, call).await,
        UnlinkCustom => account::unlink_custom(shard, me()?, call).await,
        ListChannelMessages => channels::list_messages(shard, me()?, call).await,
        ListFriends => friends::list(shard, me()?, call).await,
        AddFriends => friends::add(shard, me()?, call).await,
        DeleteFriends => friends::delete(shard, me()?, call).await,
        BlockFriends => friends::block(shard, me()?, call).await,
        ListFriendsOfFriends => friends::list_friends_of_friends(shard, me()?, call).await,
        ListNotifications => notifications::list(shard, me()?, call).await,
        DeleteNotifications => notifications::delete(shard, me()?, call).await,
        KairosTransports => transports::transports(shard).await,
        KairosUdpToken => transports::udp_token(shard, me()?, call).await,
    }
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn route_table_is_consistent() {
        for (i, r) in Route::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
            assert_eq!(r.name(), format!("{r:?}"));
        }
    }
}
