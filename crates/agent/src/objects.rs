//! Decoded objects over an [`Informer`]'s cache: each stored value is decoded (and validated:
//! datastore contents are untrusted input) once per revision, not once per pass, so a change to
//! one of 10,000 Services decodes one Service. Values that are not valid objects are skipped
//! and counted.

use std::collections::BTreeMap;

use podnet_api::stored::decode;
use podnet_model::Object;
use podnet_store::Datastore;

use crate::informer::Informer;

/// The decoded objects of one informer.
#[derive(Debug, Default)]
pub struct Decoded {
    objects: BTreeMap<String, (i64, Option<Object>)>,
    /// Stored values that are not valid objects, at the last refresh.
    pub invalid: usize,
}

impl Decoded {
    /// Brings the decoded set up to the informer's cache.
    pub fn refresh<D: Datastore>(&mut self, informer: &Informer<D>) {
        let mut next = BTreeMap::new();
        let mut invalid = 0;
        for kv in informer.items() {
            let entry = match self.objects.remove(&kv.key) {
                Some((rev, o)) if rev == kv.mod_revision => (rev, o),
                _ => (kv.mod_revision, decode(kv).ok().map(|(_, o)| o)),
            };
            if entry.1.is_none() {
                invalid += 1;
            }
            next.insert(kv.key.clone(), entry);
        }
        self.objects = next;
        self.invalid = invalid;
    }

    /// Every valid object, in key order.
    pub fn iter(&self) -> impl Iterator<Item = &Object> {
        self.objects.values().filter_map(|(_, o)| o.as_ref())
    }
}
