//! The smallest transaction that turns one [`Table`] into another: what an owner sends when one
//! object of its desired state changed, instead of reinstalling the table. Pure.
//!
//! The operations come in an order the kernel accepts in one transaction: new sets and maps,
//! then new chains declared empty (so rules and map elements may jump to them whatever their
//! order), then the rules of new and changed chains, then element changes (deletes before
//! adds, so a changed element is replaced), and last the chains, sets and maps nothing refers
//! to any more. Elements are compared by their rendered key, so the diff of two tables with
//! 100,000 elements is a merge of two sorted maps, not a quadratic scan.

use std::collections::BTreeMap;

use crate::ruleset::{Chain, Element, Elements, Table};
use crate::script::{Op, Transaction};

fn keyed(elements: &Elements) -> BTreeMap<String, &Element> {
    match elements {
        Elements::Exactly(e) => e.iter().map(|e| (key_text(e), e)).collect(),
        Elements::Kept => BTreeMap::new(),
    }
}

fn key_text(e: &Element) -> String {
    let key = Element {
        key: e.key.clone(),
        data: None,
    };
    key.to_string()
}

/// The transaction from `old` (what the kernel has, as last applied) to `new`. Both must be
/// the same table; sets and maps whose key or type changed are not supported (delete the
/// table and install it instead).
pub fn update(old: &Table, new: &Table) -> Transaction {
    let id = new.id();
    let mut tx = Transaction::new();
    let old_sets: BTreeMap<&str, _> = old.sets.iter().map(|s| (s.name.as_str(), s)).collect();
    let old_maps: BTreeMap<&str, _> = old.maps.iter().map(|m| (m.name.as_str(), m)).collect();
    let old_chains: BTreeMap<&str, &Chain> =
        old.chains.iter().map(|c| (c.name.as_str(), c)).collect();
    for s in new
        .sets
        .iter()
        .filter(|s| !old_sets.contains_key(s.name.as_str()))
    {
        let mut decl = s.clone();
        decl.elements = Elements::Kept;
        tx = tx.push(Op::AddSet {
            table: id.clone(),
            set: decl,
        });
    }
    let new_maps: Vec<_> = new
        .maps
        .iter()
        .filter(|m| !old_maps.contains_key(m.name.as_str()))
        .collect();
    if !new_maps.is_empty() || new.counters.iter().any(|c| !old.counters.contains(c)) {
        let mut decl = Table::new(new.family, &new.name);
        decl.maps = new_maps.into_iter().cloned().collect();
        decl.counters = new.counters.clone();
        tx = tx.declare(&decl);
    }
    let fresh: Vec<&Chain> = new
        .chains
        .iter()
        .filter(|c| !old_chains.contains_key(c.name.as_str()))
        .collect();
    for c in &fresh {
        tx = tx.push(Op::AddChain {
            table: id.clone(),
            chain: Chain {
                name: c.name.clone(),
                base: c.base,
                rules: Vec::new(),
            },
        });
    }
    for c in &new.chains {
        match old_chains.get(c.name.as_str()) {
            Some(o) if *o == c => {}
            Some(_) => tx = tx.replace_rules(&id, c),
            None if c.rules.is_empty() => {}
            None => tx = tx.replace_rules(&id, c),
        }
    }
    let containers = new
        .sets
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                &s.elements,
                old_sets.get(s.name.as_str()).map(|o| &o.elements),
            )
        })
        .chain(new.maps.iter().map(|m| {
            (
                m.name.as_str(),
                &m.elements,
                old_maps.get(m.name.as_str()).map(|o| &o.elements),
            )
        }));
    let mut adds = Vec::new();
    for (name, want, had) in containers {
        let want_keys = keyed(want);
        let had_keys = had.map(keyed).unwrap_or_default();
        let gone: Vec<Element> = had_keys
            .iter()
            .filter(|(k, e)| want_keys.get(*k) != Some(*e))
            .map(|(_, e)| (*e).clone())
            .collect();
        let added: Vec<Element> = want_keys
            .iter()
            .filter(|(k, e)| had_keys.get(*k) != Some(*e))
            .map(|(_, e)| (*e).clone())
            .collect();
        if !gone.is_empty() {
            tx = tx.delete_elements(&id, name, gone);
        }
        if !added.is_empty() {
            adds.push((name, added));
        }
    }
    for (name, added) in adds {
        tx = tx.add_elements(&id, name, added);
    }
    let new_chains: BTreeMap<&str, ()> = new.chains.iter().map(|c| (c.name.as_str(), ())).collect();
    for c in old
        .chains
        .iter()
        .filter(|c| !new_chains.contains_key(c.name.as_str()))
    {
        // Emptied first: a chain about to be deleted may still jump to another deleted one.
        if !c.rules.is_empty() {
            tx = tx.replace_rules(
                &id,
                &Chain {
                    name: c.name.clone(),
                    base: c.base,
                    rules: Vec::new(),
                },
            );
        }
    }
    for c in old
        .chains
        .iter()
        .filter(|c| !new_chains.contains_key(c.name.as_str()))
    {
        tx = tx.push(Op::DeleteChain {
            table: id.clone(),
            chain: c.name.clone(),
        });
    }
    let new_sets: BTreeMap<&str, ()> = new.sets.iter().map(|s| (s.name.as_str(), ())).collect();
    for s in old
        .sets
        .iter()
        .filter(|s| !new_sets.contains_key(s.name.as_str()))
    {
        tx = tx.push(Op::DeleteSet {
            table: id.clone(),
            set: s.name.clone(),
        });
    }
    let new_map_names: BTreeMap<&str, ()> =
        new.maps.iter().map(|m| (m.name.as_str(), ())).collect();
    for m in old
        .maps
        .iter()
        .filter(|m| !new_map_names.contains_key(m.name.as_str()))
    {
        tx = tx.push(Op::DeleteSet {
            table: id.clone(),
            set: m.name.clone(),
        });
    }
    tx
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::rule::{Expr, Field, Rule, Verdict};
    use crate::ruleset::{Family, KeyType, Map, MapValue, Value};

    fn table(chains: &[(&str, &str)], elements: &[(&str, &str)]) -> Table {
        let mut t = Table::new(Family::Ip, "t");
        let elems = elements
            .iter()
            .map(|(ip, chain)| {
                Element::verdict(
                    vec![Value::Ipv4(ip.parse().unwrap())],
                    Verdict::Goto((*chain).into()),
                )
            })
            .collect();
        t.maps = vec![Map::new(
            "m",
            &[KeyType::Ipv4Addr],
            MapValue::Verdict,
            Elements::Exactly(elems),
        )];
        t.chains = chains
            .iter()
            .map(|(name, to)| {
                let rules = if to.is_empty() {
                    vec![Rule::new([Verdict::Accept.into()])]
                } else {
                    vec![Rule::new([
                        Expr::eq(Field::IpSaddr, Value::Ipv4("10.0.0.1".parse().unwrap())),
                        Verdict::Goto((*to).into()).into(),
                    ])]
                };
                Chain::regular(name, rules)
            })
            .collect();
        t
    }

    #[test]
    fn an_unchanged_table_is_an_empty_transaction() {
        let t = table(&[("a", ""), ("b", "a")], &[("10.96.0.1", "b")]);
        assert_eq!(update(&t, &t).render(), "");
    }

    #[test]
    fn a_change_touches_only_what_changed_in_a_kernel_acceptable_order() {
        let old = table(
            &[("a", ""), ("b", "a"), ("gone", "")],
            &[("10.96.0.1", "b"), ("10.96.0.2", "gone")],
        );
        let new = table(
            &[("a", ""), ("b", "c"), ("c", "")],
            &[("10.96.0.1", "b"), ("10.96.0.3", "c")],
        );
        assert_eq!(
            update(&old, &new).render(),
            "add chain ip t c\nflush chain ip t c\n\
             flush chain ip t b\nadd rule ip t b ip saddr 10.0.0.1 goto c\n\
             flush chain ip t c\nadd rule ip t c accept\n\
             delete element ip t m { 10.96.0.2 : goto gone }\n\
             add element ip t m { 10.96.0.3 : goto c }\n\
             flush chain ip t gone\n\
             delete chain ip t gone\n"
        );
    }
}
