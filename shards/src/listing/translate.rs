//! A parsed query string ([`kairos_core::query`]) as a tantivy query over
//! the listing's index, with the same meaning as the query's own
//! evaluator: every leaf scores its boost when it matches (constant
//! scoring, as Nakama configures bluge), and clauses combine as the
//! `Occur` docs say.
//!
//! Wildcards, regular expressions and fuzzy terms are tested against the
//! path's indexed values with the query's own matcher, and become a set
//! of exact terms: the same semantics as the evaluator, whatever tantivy's
//! regex dialect would make of them.

use std::ops::Bound;

use kairos_core::query::{self, Compiled, Leaf, Occur, Value};
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, EmptyQuery, Occur as TOccur, Query, TermQuery,
    TermSetQuery,
};
use tantivy::schema::IndexRecordOption;

use super::index::Index;
use super::terms;

/// `query` over `index`'s current documents.
pub fn translate(q: &query::Query, index: &Index) -> tantivy::Result<Box<dyn Query>> {
    let clauses = match q {
        query::Query::All => return Ok(Box::new(ConstScoreQuery::new(Box::new(AllQuery), 1.0))),
        query::Query::Bool(clauses) if clauses.is_empty() => return Ok(Box::new(EmptyQuery)),
        query::Query::Bool(clauses) => clauses,
    };
    // The evaluator's own tests, for patterns and fuzzy terms. The parser
    // refused what does not compile; a query built otherwise fails here.
    let compiled = q
        .compile()
        .map_err(|e| tantivy::TantivyError::InvalidArgument(e.to_string()))?;
    let mut subs: Vec<(TOccur, Box<dyn Query>)> = Vec::with_capacity(clauses.len() + 1);
    for (i, c) in clauses.iter().enumerate() {
        let occur = match c.occur {
            Occur::Should => TOccur::Should,
            Occur::Must => TOccur::Must,
            Occur::MustNot => TOccur::MustNot,
        };
        let q = leaf(&c.leaf, index, &compiled, i)?;
        subs.push((occur, Box::new(ConstScoreQuery::new(q, c.boost as f32))));
    }
    // Only exclusions: everything else matches (tantivy would match
    // nothing), with score 1 as bluge's match-all gives.
    if clauses.iter().all(|c| c.occur == Occur::MustNot) {
        subs.push((
            TOccur::Must,
            Box::new(ConstScoreQuery::new(Box::new(AllQuery), 1.0)),
        ));
    }
    Ok(Box::new(BooleanQuery::new(subs)))
}

/// Clause `i`'s leaf.
fn leaf(l: &Leaf, index: &Index, compiled: &Compiled, i: usize) -> tantivy::Result<Box<dyn Query>> {
    let kw = index.fields.kw;
    let exact = |field: &str, value: &str| -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(kw, &terms::keyword(field, value)),
            IndexRecordOption::Basic,
        ))
    };
    let field = leaf_field(l);
    if !terms::indexable(field) {
        return Ok(Box::new(EmptyQuery));
    }
    Ok(match l {
        Leaf::Term { field, value } => exact(field, value),
        Leaf::Number { field, text, value } => {
            let number = Term::from_field_bytes(index.fields.num, &terms::number(field, *value));
            Box::new(BooleanQuery::union(vec![
                exact(field, text),
                Box::new(TermQuery::new(number, IndexRecordOption::Basic)),
            ]))
        }
        Leaf::Wildcard { .. } | Leaf::Regex { .. } | Leaf::Fuzzy { .. } => {
            let terms: Vec<Term> = index
                .keywords(field)?
                .into_iter()
                .map(Value::Keyword)
                .filter(|v| compiled.leaf_matches(i, v))
                .filter_map(|v| match v {
                    Value::Keyword(v) => {
                        Some(Term::from_field_text(kw, &terms::keyword(field, &v)))
                    }
                    _ => None,
                })
                .collect();
            if terms.is_empty() {
                Box::new(EmptyQuery)
            } else {
                Box::new(TermSetQuery::new(terms))
            }
        }
        Leaf::NumberRange { field, min, max } => match query::number_range(min, max) {
            Some((lo, hi)) => Box::new(index.range(
                Bound::Included(terms::number_key(field, lo)),
                Bound::Included(terms::number_key(field, hi)),
            )),
            None => Box::new(EmptyQuery),
        },
        Leaf::DateRange { field, min, max } => match query::date_range(min, max) {
            Some((lo, hi)) => Box::new(index.range(
                Bound::Included(terms::date(field, lo)),
                Bound::Included(terms::date(field, hi)),
            )),
            None => Box::new(EmptyQuery),
        },
    })
}

fn leaf_field(l: &Leaf) -> &str {
    match l {
        Leaf::Term { field, .. }
        | Leaf::Number { field, .. }
        | Leaf::Wildcard { field, .. }
        | Leaf::Regex { field, .. }
        | Leaf::Fuzzy { field, .. }
        | Leaf::NumberRange { field, .. }
        | Leaf::DateRange { field, .. } => field,
    }
}
