//! Group listings' SQL, as both backends build it: the filters and order
//! of `GET /v2/group` (`kairos_core::group::GroupFilter`) and the member
//! listings, with the placeholders and the name-matching operator of the
//! backend.

use kairos_core::group::{EdgeCursor, GroupCursor, GroupFilter, GroupOrder, state};
use uuid::Uuid;

/// The columns of `groups` that make a `Group`, in the backends' order.
pub const GROUP_COLUMNS: &str = "id, creator_id, name, description, avatar_url, lang_tag, metadata, open, edge_count, max_count, create_time, update_time";

/// A bound parameter of a built query.
#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    Text(String),
    Int(i64),
    Bool(bool),
    Id(Uuid),
}

/// The dialect details a backend gives the builder.
pub struct Dialect {
    /// The `n`th (1-based) placeholder, for this parameter (PostgreSQL
    /// casts it to its type).
    pub placeholder: fn(usize, &Param) -> String,
    /// The case-insensitive pattern match (`LIKE` on SQLite, `ILIKE` on
    /// PostgreSQL).
    pub like: &'static str,
}

struct Builder<'a> {
    d: &'a Dialect,
    params: Vec<Param>,
}

impl Builder<'_> {
    fn bind(&mut self, p: Param) -> String {
        let text = (self.d.placeholder)(self.params.len() + 1, &p);
        self.params.push(p);
        text
    }
}

/// `GET /v2/group`: the query and its parameters.
pub fn list_groups(
    d: &Dialect,
    filter: &GroupFilter,
    after: Option<&GroupCursor>,
    limit: i64,
) -> (String, Vec<Param>) {
    let mut b = Builder {
        d,
        params: Vec::new(),
    };
    let mut clauses: Vec<String> = Vec::new();
    if let Some(name) = &filter.name {
        clauses.push(format!(
            "name {} {}",
            d.like,
            b.bind(Param::Text(name.clone()))
        ));
    }
    if let Some(open) = filter.open {
        clauses.push(format!("open = {}", b.bind(Param::Bool(open))));
    }
    if let Some(lang) = &filter.lang_tag {
        clauses.push(format!("lang_tag = {}", b.bind(Param::Text(lang.clone()))));
    }
    if let Some(members) = filter.members {
        clauses.push(format!(
            "edge_count <= {}",
            b.bind(Param::Int(members.into()))
        ));
    }
    let order = filter.order();
    if let Some(c) = after {
        clauses.push(match order {
            GroupOrder::Name => format!("name > {}", b.bind(Param::Text(c.name.clone()))),
            GroupOrder::MembersDesc => format!(
                "(edge_count < {e} OR (edge_count = {e2} AND id < {i}))",
                e = b.bind(Param::Int(c.edge_count.into())),
                e2 = b.bind(Param::Int(c.edge_count.into())),
                i = b.bind(Param::Id(c.id)),
            ),
            GroupOrder::MembersAsc => format!(
                "(edge_count > {e} OR (edge_count = {e2} AND id > {i}))",
                e = b.bind(Param::Int(c.edge_count.into())),
                e2 = b.bind(Param::Int(c.edge_count.into())),
                i = b.bind(Param::Id(c.id)),
            ),
            GroupOrder::Updated => format!(
                "(update_time > {u} OR (update_time = {u2} AND (edge_count > {e} OR (edge_count = {e2} AND id > {i}))))",
                u = b.bind(Param::Int(c.update_time)),
                u2 = b.bind(Param::Int(c.update_time)),
                e = b.bind(Param::Int(c.edge_count.into())),
                e2 = b.bind(Param::Int(c.edge_count.into())),
                i = b.bind(Param::Id(c.id)),
            ),
        });
    }
    let order_by = match order {
        GroupOrder::Name => "name",
        GroupOrder::MembersDesc => "edge_count DESC, id DESC",
        GroupOrder::MembersAsc => "edge_count, id",
        GroupOrder::Updated => "update_time, edge_count, id",
    };
    let filter_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    let limit = b.bind(Param::Int(limit));
    (
        format!("SELECT {GROUP_COLUMNS} FROM groups{filter_sql} ORDER BY {order_by} LIMIT {limit}"),
        b.params,
    )
}

/// The edge listings: a group's users (`by_group`) or a user's groups.
/// `select` is the select list and join, with `e` the edge; `owner` is
/// the group or user whose edges are listed.
pub fn list_edges(
    d: &Dialect,
    select: &str,
    by_group: bool,
    owner: Uuid,
    state_filter: Option<i32>,
    after: Option<&EdgeCursor>,
    limit: i64,
) -> (String, Vec<Param>) {
    let mut b = Builder {
        d,
        params: Vec::new(),
    };
    let (key, other) = if by_group {
        ("e.group_id", "e.user_id")
    } else {
        ("e.user_id", "e.group_id")
    };
    let mut sql = format!("{select} WHERE {key} = {}", b.bind(Param::Id(owner)));
    match state_filter {
        Some(s) => sql += &format!(" AND e.state = {}", b.bind(Param::Int(s.into()))),
        None => sql += &format!(" AND e.state <= {}", state::JOIN_REQUEST),
    }
    if let Some(c) = after {
        sql += &format!(
            " AND (e.state > {s} OR (e.state = {s2} AND (e.position > {p} OR (e.position = {p2} AND {other} > {i}))))",
            s = b.bind(Param::Int(c.state.into())),
            s2 = b.bind(Param::Int(c.state.into())),
            p = b.bind(Param::Int(c.position)),
            p2 = b.bind(Param::Int(c.position)),
            i = b.bind(Param::Id(c.id)),
        );
    }
    let limit = b.bind(Param::Int(limit));
    sql += &format!(" ORDER BY e.state, e.position, {other} LIMIT {limit}");
    (sql, b.params)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Dialect = Dialect {
        placeholder: |n, _| format!("${n}"),
        like: "ILIKE",
    };

    #[test]
    fn builds_filters_in_order() {
        let f = GroupFilter {
            open: Some(true),
            members: Some(5),
            ..Default::default()
        };
        let (sql, params) = list_groups(&D, &f, None, 11);
        assert!(
            sql.contains("WHERE open = $1 AND edge_count <= $2"),
            "{sql}"
        );
        assert!(
            sql.ends_with("ORDER BY edge_count DESC, id DESC LIMIT $3"),
            "{sql}"
        );
        assert_eq!(
            params,
            vec![Param::Bool(true), Param::Int(5), Param::Int(11)]
        );
        let (sql, _) = list_groups(&D, &GroupFilter::default(), None, 1);
        assert!(!sql.contains("WHERE"), "{sql}");
    }

    #[test]
    fn edge_cursor_is_strictly_after() {
        let c = EdgeCursor {
            state: 2,
            position: 9,
            id: Uuid::nil(),
        };
        let (sql, params) = list_edges(
            &D,
            "SELECT 1 FROM group_edge e",
            true,
            Uuid::nil(),
            None,
            Some(&c),
            3,
        );
        assert!(sql.contains("e.state <= 3"), "{sql}");
        assert!(sql.contains("e.user_id > $6"), "{sql}");
        assert_eq!(params.len(), 7);
    }
}
