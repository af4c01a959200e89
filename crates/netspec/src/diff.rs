//! Converging by diff: the entries to add and to remove to get from what the kernel has to
//! what the plan wants. Entries on both sides are left alone, so a converged node is never
//! touched and an agent restart drops no connection.

use std::collections::BTreeSet;

/// What to add and what to remove to get from `observed` to `desired`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff<T> {
    pub add: Vec<T>,
    pub remove: Vec<T>,
}

impl<T> Diff<T> {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// The set difference both ways; entries present on both sides are left alone. `add` follows
/// `desired`'s order, `remove` `observed`'s.
pub fn diff<T: Ord + Clone>(observed: &[T], desired: &BTreeSet<T>) -> Diff<T> {
    let have: BTreeSet<&T> = observed.iter().collect();
    Diff {
        add: desired
            .iter()
            .filter(|d| !have.contains(d))
            .cloned()
            .collect(),
        remove: observed
            .iter()
            .filter(|o| !desired.contains(o))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[u32]) -> BTreeSet<u32> {
        v.iter().copied().collect()
    }

    #[test]
    fn adds_the_missing_removes_the_extra_and_keeps_the_rest() {
        let d = diff(&[5, 1, 2], &set(&[1, 3, 4]));
        assert_eq!(d.add, vec![3, 4]);
        assert_eq!(d.remove, vec![5, 2]);
        assert!(!d.is_empty());
    }

    #[test]
    fn converged_is_empty() {
        assert!(diff(&[2, 1], &set(&[1, 2])).is_empty());
        assert!(diff::<u32>(&[], &set(&[])).is_empty());
    }

    #[test]
    fn duplicates_observed_twice_are_removed_twice_only_if_unwanted() {
        let d = diff(&[7, 7, 1], &set(&[1]));
        assert_eq!(d.remove, vec![7, 7]);
        assert!(diff(&[1, 1], &set(&[1])).is_empty());
    }

    #[test]
    fn an_empty_desire_removes_everything_observed() {
        let d = diff(&[1, 2], &set(&[]));
        assert!(d.add.is_empty());
        assert_eq!(d.remove, vec![1, 2]);
    }
}
