//! The shape of the REST route table and how a request finds its route.
//!
//! [`routes!`] turns one list, an entry per route (its name, method, path
//! pattern, who may call it and its handler), into the [`Route`] enum
//! (with Nakama's method names for the metrics), the matcher, and the
//! dispatch to the handler. The table itself is in `handlers/mod.rs`,
//! beside the handlers. A pattern's `{name}` segments are path parameters,
//! as many as a route needs (`/v2/storage/{collection}/{user_id}`); a
//! handler reads them, percent-decoded, with
//! [`Call::path`](super::router::Call::path).
//!
//! Adding a route is one entry in the table plus its handler: a session
//! route's handler is `fn(&Shard, Caller, Call)`, any other's
//! `fn(&Shard, Call)`, both async and returning `ApiResult<HttpResponse>`.

use hyper::Method;

use super::query;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// A client with the server key (HTTP Basic).
    ServerKey,
    /// A client with a session token (Bearer).
    Session,
    /// A session, or the runtime HTTP key (`?http_key=` or HTTP Basic):
    /// RPCs, which servers call too. The handler gets `Option<Caller>`.
    HttpKeyOrSession,
}

/// Declares the route table; see the module documentation.
macro_rules! routes {
    ($($route:ident: $method:ident $pattern:literal $access:ident => $handler:path;)+) => {
        /// Every REST operation Kairos serves.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Route {
            $($route,)+
        }

        impl Route {
            /// Every route, in table order (`ALL[r.index()] == r`).
            pub const ALL: &'static [Route] = &[$(Route::$route,)+];

            /// Nakama's gRPC method name, which its metrics are named
            /// after (`<prefix>_<Method>_count`).
            pub fn name(self) -> &'static str {
                match self {
                    $(Route::$route => stringify!($route),)+
                }
            }

            /// The HTTP method it answers.
            pub fn method(self) -> hyper::Method {
                match self {
                    $(Route::$route => hyper::Method::$method,)+
                }
            }

            /// Its path, `{name}` marking a parameter.
            pub fn pattern(self) -> &'static str {
                match self {
                    $(Route::$route => $pattern,)+
                }
            }

            /// Who may call it.
            pub fn access(self) -> $crate::http::routes::Access {
                match self {
                    $(Route::$route => $crate::http::routes::Access::$access,)+
                }
            }
        }

        /// Runs the route's handler. The router has authenticated the
        /// caller as the route's access asks.
        pub(super) async fn dispatch(
            route: Route,
            shard: &Shard,
            caller: Option<Caller>,
            call: Call,
        ) -> ApiResult<HttpResponse> {
            match route {
                $(Route::$route => routes!(@call $access, $handler, shard, caller, call),)+
            }
        }
    };
    (@call Session, $handler:path, $shard:ident, $caller:ident, $call:ident) => {
        match $caller {
            Some(caller) => $handler($shard, caller, $call).await,
            None => Err(ApiError::unauthenticated("Auth token required")),
        }
    };
    (@call HttpKeyOrSession, $handler:path, $shard:ident, $caller:ident, $call:ident) => {
        $handler($shard, $caller, $call).await
    };
    (@call $access:ident, $handler:path, $shard:ident, $caller:ident, $call:ident) => {
        $handler($shard, $call).await
    };
}
pub(crate) use routes;

/// The percent-decoded parameters of a matched path, by name.
pub type PathParams = Vec<(&'static str, String)>;

/// What a request's method and path find in the table.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found<R> {
    Route(R, PathParams),
    /// The path exists, not with this method.
    WrongMethod,
    /// No route has this path.
    Nothing,
}

/// Finds the route for `method` and `path` among `routes` (`(route,
/// method, pattern)`). Where several patterns match, the one with the
/// most literal segments wins (`/v2/storage/delete` over
/// `/v2/storage/{collection}`).
pub(crate) fn find<R: Copy>(
    routes: impl IntoIterator<Item = (R, Method, &'static str)>,
    method: &Method,
    path: &str,
) -> Found<R> {
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(usize, R, &'static str)> = None;
    let mut path_exists = false;
    for (route, m, pattern) in routes {
        let Some(literals) = literal_match(pattern, &segments) else {
            continue;
        };
        path_exists = true;
        if m == *method && best.is_none_or(|(n, _, _)| literals > n) {
            best = Some((literals, route, pattern));
        }
    }
    match best {
        Some((_, route, pattern)) => Found::Route(route, params(pattern, &segments)),
        None if path_exists => Found::WrongMethod,
        None => Found::Nothing,
    }
}

/// Whether `pattern` matches the path's segments; if so, how many of its
/// segments are literal. A parameter matches any non-empty segment.
fn literal_match(pattern: &str, segments: &[&str]) -> Option<usize> {
    let mut literals = 0;
    let mut n = 0;
    for (i, p) in pattern.split('/').enumerate() {
        let s = segments.get(i)?;
        if is_param(p) {
            if s.is_empty() {
                return None;
            }
        } else if p != *s {
            return None;
        } else {
            literals += 1;
        }
        n = i + 1;
    }
    (n == segments.len()).then_some(literals)
}

fn is_param(segment: &str) -> bool {
    segment.len() > 2 && segment.starts_with('{') && segment.ends_with('}')
}

fn params(pattern: &'static str, segments: &[&str]) -> PathParams {
    pattern
        .split('/')
        .zip(segments)
        .filter(|(p, _)| is_param(p))
        .map(|(p, s)| (&p[1..p.len() - 1], query::decode_path(s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[(u8, Method, &str)] = &[
        (1, Method::GET, "/v2/account"),
        (2, Method::PUT, "/v2/account"),
        (3, Method::GET, "/v2/channel/{channel_id}"),
        (4, Method::GET, "/v2/storage/{collection}"),
        (5, Method::PUT, "/v2/storage/delete"),
        (6, Method::GET, "/v2/storage/{collection}/{user_id}"),
        (7, Method::GET, "/v2/leaderboard/{id}/owner/{owner_id}"),
    ];

    fn look(method: Method, path: &str) -> Found<u8> {
        find(
            TABLE.iter().map(|(r, m, p)| (*r, m.clone(), *p)),
            &method,
            path,
        )
    }

    #[test]
    fn literal_and_parameter_paths() {
        assert_eq!(look(Method::GET, "/v2/account"), Found::Route(1, vec![]));
        assert_eq!(look(Method::PUT, "/v2/account"), Found::Route(2, vec![]));
        assert_eq!(look(Method::POST, "/v2/account"), Found::WrongMethod);
        assert_eq!(look(Method::GET, "/v2/accounts"), Found::Nothing);
        assert_eq!(look(Method::GET, "/v2/account/"), Found::Nothing);
        assert_eq!(
            look(Method::GET, "/v2/channel/2...lobby%20one"),
            Found::Route(3, vec![("channel_id", "2...lobby one".into())])
        );
        assert_eq!(look(Method::GET, "/v2/channel/"), Found::Nothing);
        assert_eq!(look(Method::GET, "/v2/channel/a/b"), Found::Nothing);
    }

    #[test]
    fn two_parameters_and_literal_precedence() {
        assert_eq!(
            look(Method::GET, "/v2/storage/saves/u1"),
            Found::Route(
                6,
                vec![("collection", "saves".into()), ("user_id", "u1".into())]
            )
        );
        assert_eq!(
            look(Method::PUT, "/v2/storage/delete"),
            Found::Route(5, vec![])
        );
        assert_eq!(
            look(Method::GET, "/v2/storage/delete"),
            Found::Route(4, vec![("collection", "delete".into())])
        );
        assert_eq!(
            look(Method::GET, "/v2/leaderboard/weekly/owner/abc"),
            Found::Route(7, vec![("id", "weekly".into()), ("owner_id", "abc".into())])
        );
        assert_eq!(
            look(Method::GET, "/v2/leaderboard/weekly/owner/"),
            Found::Nothing
        );
    }
}
