//! Checks every `Datastore` implementation must pass, shared by the embedded, etcd and memory
//! test files.
#![allow(clippy::unwrap_used, dead_code)]

use podnet_store::Datastore;

/// Create-if-absent never overwrites; compare-and-swap only on the last revision; delete says
/// whether the key was there; a deleted key cannot be swapped. Leaves the store empty.
pub async fn create_cas_delete<D: Datastore>(s: &D) {
    let r1 = s.create("/a", "1", None).await.unwrap().unwrap();
    assert_eq!(
        s.create("/a", "2", None).await.unwrap(),
        None,
        "create must not overwrite"
    );
    assert_eq!(s.get("/a").await.unwrap().unwrap().value, "1");
    assert_eq!(
        s.compare_and_swap("/a", r1 + 100, "x", None).await.unwrap(),
        None
    );
    let r2 = s
        .compare_and_swap("/a", r1, "3", None)
        .await
        .unwrap()
        .unwrap();
    assert!(r2 > r1);
    assert_eq!(s.get("/a").await.unwrap().unwrap().value, "3");
    assert_eq!(
        s.compare_and_swap("/a", r1, "4", None).await.unwrap(),
        None,
        "stale revision"
    );
    let (kvs, _) = s.list("/").await.unwrap();
    assert_eq!(kvs.len(), 1);
    assert!(s.delete("/a").await.unwrap());
    assert!(!s.delete("/a").await.unwrap());
    assert_eq!(
        s.compare_and_swap("/a", r2, "5", None).await.unwrap(),
        None,
        "gone"
    );
}
