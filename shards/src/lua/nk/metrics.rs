//! `metrics_counter_add`, `metrics_gauge_set`, `metrics_timer_record`:
//! custom metrics, exported on the Prometheus endpoint as
//! `kairos_custom_<name>` ([`CustomMetrics`](crate::lua::node::CustomMetrics)),
//! bounded in name and tag sizes and in series per node.

use std::time::Duration;

use mlua::Value as LuaValue;

use super::{Args, Module};
use crate::lua::node::{MAX_NAME, MAX_TAG_KEY, MAX_TAG_VALUE, MAX_TAGS, MetricKind, SeriesValue};

pub fn add(m: &Module) -> mlua::Result<()> {
    m.sync("metrics_counter_add", |_, current, a| {
        let (name, tags) = name_and_tags(&a)?;
        let delta = a.int(3)?;
        if delta < 0 {
            return Err(a.error(3, "delta must be 0 or more"));
        }
        current
            .program
            .node
            .metrics
            .record(&name, tags, MetricKind::Counter, |v| {
                if let SeriesValue::Counter(n) = v {
                    *n = n.saturating_add(delta as u64);
                }
            });
        Ok(())
    })?;
    m.sync("metrics_gauge_set", |_, current, a| {
        let (name, tags) = name_and_tags(&a)?;
        let value = a.number(3)?;
        current
            .program
            .node
            .metrics
            .record(&name, tags, MetricKind::Gauge, |v| {
                if let SeriesValue::Gauge(g) = v {
                    *g = value;
                }
            });
        Ok(())
    })?;
    m.sync("metrics_timer_record", |_, current, a| {
        let (name, tags) = name_and_tags(&a)?;
        // Nanoseconds, as Nakama's; a negative duration records as 0.
        let nanos = a.int(3)?.max(0) as u64;
        current
            .program
            .node
            .metrics
            .record(&name, tags, MetricKind::Timer, |v| {
                if let SeriesValue::Timer(h) = v {
                    h.record(Duration::from_nanos(nanos));
                }
            });
        Ok(())
    })?;
    Ok(())
}

/// The metric's name (argument 1) and tags (argument 2, a table of
/// strings, optional), checked against the bounds.
fn name_and_tags(a: &Args) -> mlua::Result<(String, Vec<(String, String)>)> {
    let name = a.string(1)?;
    if name.is_empty() {
        return Err(a.error(1, "expects name string"));
    }
    if name.len() > MAX_NAME {
        return Err(a.error(1, &format!("name must be at most {MAX_NAME} bytes long")));
    }
    let mut tags = Vec::new();
    if let Some(t) = a.opt_table(2)? {
        for pair in t.pairs::<LuaValue, LuaValue>() {
            let (k, v) = pair?;
            let LuaValue::String(k) = k else {
                return Err(a.error(2, "table keys must be strings"));
            };
            let LuaValue::String(v) = v else {
                return Err(a.error(2, "table values must be strings"));
            };
            let (k, v) = (k.to_string_lossy(), v.to_string_lossy());
            if k.is_empty() || k.len() > MAX_TAG_KEY || v.len() > MAX_TAG_VALUE {
                return Err(a.error(
                    2,
                    &format!(
                        "tag keys must be 1 to {MAX_TAG_KEY} bytes long, values at most {MAX_TAG_VALUE}"
                    ),
                ));
            }
            tags.push((k, v));
            if tags.len() > MAX_TAGS {
                return Err(a.error(2, &format!("at most {MAX_TAGS} tags")));
            }
        }
    }
    Ok((name, tags))
}
