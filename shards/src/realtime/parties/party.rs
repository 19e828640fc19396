//! One party's own state, beyond its stream's membership: what it is
//! (open, hidden, size bound, label), who leads it, and who asks to join.

use kairos_core::query::Doc;
use uuid::Uuid;

use super::MAX_LABEL_BYTES;
use crate::fanout::Presence;

/// What the leader sets: a label, openness, visibility.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub label: String,
    pub open: bool,
    pub hidden: bool,
}

/// One party, kept by its owner shard.
pub struct Party {
    pub open: bool,
    pub hidden: bool,
    pub max_size: usize,
    /// The label as listed: `"{}"` for an empty one.
    pub label: String,
    /// The label flattened for listing queries, with `open`, `hidden`,
    /// `max_size`, `node` and `create_time`, as Nakama indexes a party.
    pub doc: Doc,
    /// The leader's session; always a member's.
    pub leader: Uuid,
    /// Sessions asking to join, oldest first; at most `max_size`.
    pub requests: Vec<Presence>,
    /// Creation, in nanoseconds since the Unix epoch.
    pub created_ns: i64,
    pub node: String,
    /// Whether it may hold matchmaker tickets: set when the leader queues
    /// it, cleared when its tickets are withdrawn.
    pub queued: bool,
}

impl Party {
    pub fn new(settings: Settings, max_size: usize, leader: Uuid, node: &str) -> Party {
        let mut party = Party {
            open: settings.open,
            hidden: settings.hidden,
            max_size,
            label: String::new(),
            doc: Doc::default(),
            leader,
            requests: Vec::new(),
            created_ns: kairos_core::time::now_micros().saturating_mul(1000),
            node: node.to_string(),
            queued: false,
        };
        party.set(settings);
        party
    }

    /// Applies the leader's settings (already checked with [`check_label`]).
    pub fn set(&mut self, settings: Settings) {
        self.open = settings.open;
        self.hidden = settings.hidden;
        self.label = if settings.label.is_empty() {
            "{}".into()
        } else {
            settings.label
        };
        let mut doc = Doc::from_label(&self.label);
        doc.push_keyword("open", if self.open { "T" } else { "F" });
        doc.push_keyword("hidden", if self.hidden { "T" } else { "F" });
        doc.push_number("max_size", self.max_size as f64);
        doc.push_keyword("node", self.node.clone());
        doc.push_date("create_time", self.created_ns);
        self.doc = doc;
    }
}

/// Nakama's label rules: at most [`MAX_LABEL_BYTES`], and a JSON object
/// (or `null`) when not empty. The error is Nakama's text.
pub fn check_label(label: &str) -> Result<(), String> {
    if label.len() > MAX_LABEL_BYTES {
        return Err("party label too long".into());
    }
    if label.is_empty() {
        return Ok(());
    }
    match serde_json::from_str::<serde_json::Value>(label) {
        Ok(serde_json::Value::Object(_) | serde_json::Value::Null) => Ok(()),
        Ok(_) => Err("failed to unmarshal party label: a label must be a JSON object".into()),
        Err(e) => Err(format!("failed to unmarshal party label: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!(check_label("").is_ok());
        assert!(check_label("{\"mode\":\"duo\"}").is_ok());
        assert!(check_label("null").is_ok());
        assert!(check_label("[1]").is_err());
        assert!(check_label("{").is_err());
        let long = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_LABEL_BYTES));
        assert_eq!(check_label(&long).unwrap_err(), "party label too long");
        let p = Party::new(
            Settings {
                label: String::new(),
                open: true,
                hidden: false,
            },
            4,
            Uuid::new_v4(),
            "kairos",
        );
        assert_eq!(p.label, "{}");
        let q = kairos_core::query::parse("+open:T +max_size:>=4 +node:kairos").unwrap();
        assert!(q.score(&p.doc).is_some());
        let q = kairos_core::query::parse("+hidden:T").unwrap();
        assert!(q.score(&p.doc).is_none());
    }
}
