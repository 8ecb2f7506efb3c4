//! The planning rules, one table row per situation (the push's in `plan/push.rs`).

use std::collections::BTreeSet;

use mailbridge_mailbox::{
    BackendError, ContactData, ItemData, ItemRef, RemoteItem, changed_fields,
};
use mailbridge_store::Link;
use mailbridge_sync::matching::{MatchIndex, MatchedBy};
use mailbridge_sync::plan::{
    Action, CreateStep, CrmSide, PushAction, Refused, brakes, crm_id_for_item, plan_create,
    plan_delete, plan_push, plan_push_merge, plan_refused_update, plan_twin, plan_upsert,
};

#[path = "plan/push.rs"]
mod push;

fn contact(given: &str, surname: &str, email: &str, job: Option<&str>) -> ItemData {
    ItemData::Contact(ContactData {
        given_name: Some(given.into()),
        surname: Some(surname.into()),
        emails: if email.is_empty() {
            Vec::new()
        } else {
            vec![email.into()]
        },
        job_title: job.map(Into::into),
        ..ContactData::default()
    })
}

fn remote(id: &str, ck: &str, stamp: Option<&str>, data: ItemData) -> RemoteItem {
    RemoteItem {
        item: ItemRef {
            id: id.into(),
            change_key: ck.into(),
        },
        crm_id: stamp.map(Into::into),
        data,
    }
}

fn link(crm_id: &str, item_id: &str, data: &ItemData, crm_version: u64) -> Link {
    Link {
        crm_id: crm_id.into(),
        item_id: item_id.into(),
        change_key: "ck0".into(),
        content_hash: data.content_hash(),
        crm_version,
        base: Some(data.normalized().to_json()),
        unconfirmed: false,
    }
}

fn crm(crm_id: &str, version: u64, data: Option<ItemData>) -> CrmSide {
    CrmSide {
        crm_id: crm_id.into(),
        version,
        data,
    }
}

fn none(_: &str) -> Option<CrmSide> {
    None
}

#[test]
fn linked_items() {
    let base = contact("Ada", "Berg", "ada@x.example", None);
    let edited = contact("Ada", "Berg", "ada@x.example", Some("Broker"));
    let crm_edit = contact("Ada", "Lind", "ada@x.example", None);
    let l = link("c1", "i1", &base, 3);

    // Same content under a new change key (our own write, or a save without edits).
    let a = plan_upsert(
        remote("i1", "ck1", Some("c1"), base.clone()),
        Some(&l),
        Some(&crm("c1", 3, Some(base.clone()))),
        None,
        none,
    );
    assert!(
        matches!(a, Action::Refresh { ref crm_id, .. } if crm_id == "c1"),
        "{a:?}"
    );

    // Mailbox edit, CRM untouched: apply to the CRM.
    let a = plan_upsert(
        remote("i1", "ck1", None, edited.clone()),
        Some(&l),
        Some(&crm("c1", 3, Some(base.clone()))),
        None,
        none,
    );
    assert!(
        matches!(a, Action::CrmUpdate { expected: 3, ref data, .. } if *data == edited),
        "{a:?}"
    );

    // Both edited, different fields: merged, no conflict.
    let a = plan_upsert(
        remote("i1", "ck1", None, edited.clone()),
        Some(&l),
        Some(&crm("c1", 4, Some(crm_edit.clone()))),
        None,
        none,
    );
    let Action::Merge {
        merged,
        conflicts,
        expected,
        matched_by,
        revived,
        ..
    } = a
    else {
        panic!("{a:?}")
    };
    assert!(conflicts.is_empty());
    assert!(!revived, "a merge of two edits brings nothing back");
    assert_eq!((expected, matched_by), (Some(4), None));
    assert_eq!(
        merged,
        contact("Ada", "Lind", "ada@x.example", Some("Broker")).normalized()
    );

    // Both edited the same field: one conflict, the CRM's value kept.
    let mailbox_edit = contact("Ada", "Strand", "ada@x.example", None);
    let a = plan_upsert(
        remote("i1", "ck1", None, mailbox_edit),
        Some(&l),
        Some(&crm("c1", 4, Some(crm_edit.clone()))),
        None,
        none,
    );
    let Action::Merge {
        merged, conflicts, ..
    } = a
    else {
        panic!()
    };
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].field, "surname");
    assert_eq!(merged, crm_edit.normalized());

    // Deleted in the CRM, unchanged in the mailbox: the delete stands.
    let a = plan_upsert(
        remote("i1", "ck1", None, base.clone()),
        Some(&l),
        Some(&crm("c1", 4, None)),
        None,
        none,
    );
    assert!(matches!(a, Action::Refresh { .. }), "{a:?}");
    // Deleted in the CRM, edited in the mailbox: the edit wins and the record returns.
    let a = plan_upsert(
        remote("i1", "ck1", None, edited.clone()),
        Some(&l),
        Some(&crm("c1", 4, None)),
        None,
        none,
    );
    assert!(
        matches!(a, Action::Merge { expected: Some(4), ref merged, revived: true, .. } if *merged == edited.normalized()),
        "{a:?}"
    );
    assert!(a.to_string().starts_with("revive"), "{a}");
}

#[test]
fn deletes() {
    let base = contact("Ada", "Berg", "ada@x.example", None);
    let l = link("c1", "i1", &base, 3);
    assert_eq!(
        plan_delete("i9", None, None),
        Action::Ignore { id: "i9".into() }
    );
    assert_eq!(
        plan_delete("i1", Some(&l), Some(&crm("c1", 3, Some(base.clone())))),
        Action::CrmDelete {
            crm_id: "c1".into(),
            expected: 3
        }
    );
    // The CRM edited it meanwhile: the edit wins, the push recreates the item.
    assert_eq!(
        plan_delete("i1", Some(&l), Some(&crm("c1", 4, Some(base.clone())))),
        Action::KeepEdited {
            crm_id: "c1".into()
        }
    );
    // Both deleted it.
    assert_eq!(
        plan_delete("i1", Some(&l), Some(&crm("c1", 4, None))),
        Action::Ignore { id: "i1".into() }
    );
}

#[test]
fn unlinked_items() {
    let ada = contact("Ada", "Berg", "ada@x.example", None);
    // New in the mailbox: a record with an id derived from the item.
    let a = plan_upsert(
        remote("i1", "ck", None, ada.clone()),
        None,
        None,
        None,
        none,
    );
    assert!(
        matches!(a, Action::CrmCreate { ref crm_id, ambiguous: None, .. } if *crm_id == crm_id_for_item("i1")),
        "{a:?}"
    );
    assert_eq!(crm_id_for_item("i1"), crm_id_for_item("i1"));
    assert_ne!(crm_id_for_item("i1"), crm_id_for_item("i2"));

    // Our stamp, the record exists: linked (a create whose commit was lost).
    let found = |id: &str| {
        (id == "c7").then(|| crm("c7", 2, Some(contact("Ada", "Berg", "ada@x.example", None))))
    };
    let a = plan_upsert(
        remote("i1", "ck", Some("c7"), ada.clone()),
        None,
        None,
        None,
        found,
    );
    assert!(
        matches!(a, Action::Merge { ref crm_id, matched_by: Some(MatchedBy::Stamp), ref conflicts, revived: false, .. } if crm_id == "c7" && conflicts.is_empty()),
        "{a:?}"
    );

    // Our stamp, the record deleted in the CRM since, the item edited: the edit wins over
    // the delete, and says so.
    let gone = |id: &str| (id == "c7").then(|| crm("c7", 3, None));
    let a = plan_upsert(
        remote("i1", "ck", Some("c7"), ada.clone()),
        None,
        None,
        None,
        gone,
    );
    assert!(
        matches!(a, Action::Merge { ref crm_id, expected: Some(3), revived: true, .. } if crm_id == "c7"),
        "{a:?}"
    );

    // Made from this item, deleted in the CRM, the item changed since: the same.
    let derived = crm_id_for_item("i1");
    let a = plan_upsert(
        remote("i1", "ck", None, ada.clone()),
        None,
        None,
        None,
        |id| (id == derived).then(|| crm(&derived, 2, None)),
    );
    assert!(
        matches!(
            a,
            Action::Merge {
                expected: Some(2),
                revived: true,
                ..
            }
        ),
        "{a:?}"
    );

    // A replayed page: the derived record exists already; no twin.
    let derived = crm_id_for_item("i1");
    let a = plan_upsert(
        remote("i1", "ck", None, ada.clone()),
        None,
        None,
        None,
        |id| (id == derived).then(|| crm(&derived, 1, Some(ada.clone()))),
    );
    assert!(
        matches!(
            a,
            Action::Merge {
                matched_by: Some(MatchedBy::Stamp),
                ..
            }
        ),
        "{a:?}"
    );
}

#[test]
fn first_connect_matching() {
    let crm_ada = contact("Ada", "Berg", "ADA@x.example", Some("Broker"));
    let crm_bo = contact("Bo", "Lind", "", None);
    let twin1 = contact("Cy", "Holm", "", None);
    let twin2 = contact("Cy", "Holm", "", Some("Agent"));
    let mut index = MatchIndex::default();
    for (id, data) in [
        ("a", &crm_ada),
        ("b", &crm_bo),
        ("t1", &twin1),
        ("t2", &twin2),
    ] {
        index.add(id, data);
    }
    let records = |id: &str| match id {
        "a" => Some(crm("a", 1, Some(crm_ada.clone()))),
        "b" => Some(crm("b", 1, Some(crm_bo.clone()))),
        _ => None,
    };
    // By e-mail, case-insensitively, with fields filled from both sides.
    let mailbox_ada = ItemData::Contact(ContactData {
        mobile_phone: Some("+1 555".into()),
        ..match contact("Ada", "Berg-Lind", "ada@x.example", None) {
            ItemData::Contact(c) => c,
            ItemData::Event(_) => unreachable!(),
        }
    });
    let a = plan_upsert(
        remote("i1", "ck", None, mailbox_ada),
        None,
        None,
        Some(&mut index),
        records,
    );
    let Action::Merge {
        crm_id,
        matched_by,
        merged,
        conflicts,
        ..
    } = a
    else {
        panic!("{a:?}")
    };
    assert_eq!((crm_id.as_str(), matched_by), ("a", Some(MatchedBy::Email)));
    let ItemData::Contact(m) = merged else {
        panic!()
    };
    assert_eq!(m.job_title.as_deref(), Some("Broker"));
    assert_eq!(m.mobile_phone.as_deref(), Some("+1 555"));
    // The surname differs, and so does the address's case: both kept as the CRM has them.
    let fields: Vec<&str> = conflicts.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["emails", "surname"]);

    // By name.
    let a = plan_upsert(
        remote("i2", "ck", None, contact(" bo ", "LIND", "", None)),
        None,
        None,
        Some(&mut index),
        records,
    );
    assert!(
        matches!(a, Action::Merge { ref crm_id, matched_by: Some(MatchedBy::Name), .. } if crm_id == "b"),
        "{a:?}"
    );
    // A record is matched once only.
    let a = plan_upsert(
        remote("i3", "ck", None, contact("Bo", "Lind", "", None)),
        None,
        None,
        Some(&mut index),
        records,
    );
    assert!(
        matches!(
            a,
            Action::CrmCreate {
                ambiguous: None,
                ..
            }
        ),
        "{a:?}"
    );
    // Two candidates: ambiguous, a new record.
    let a = plan_upsert(
        remote("i4", "ck", None, contact("Cy", "Holm", "", None)),
        None,
        None,
        Some(&mut index),
        records,
    );
    assert!(
        matches!(
            a,
            Action::CrmCreate {
                ambiguous: Some(2),
                ..
            }
        ),
        "{a:?}"
    );
}

#[test]
fn the_mass_delete_brake() {
    // (deletes, gone, linked, percent, min) and whether the pull stops.
    let rows = [
        ((20, 20, 30, 50, 10), true, "two thirds of the folder"),
        ((15, 15, 30, 50, 10), false, "half is not more than half"),
        (
            (9, 9, 12, 50, 10),
            false,
            "most of a small folder, under the minimum",
        ),
        (
            (512, 512, 1200, 50, 10),
            false,
            "one delta page's share alone",
        ),
        ((1000, 1000, 1200, 50, 10), true, "the whole pull's share"),
        (
            (8, 8, 8, 50, 10),
            true,
            "the folder reads empty, however small",
        ),
        (
            (7, 8, 8, 50, 10),
            true,
            "empty, though the CRM had edited one record",
        ),
        ((1, 1, 1, 50, 10), true, "a folder of one reads empty"),
        ((0, 0, 0, 50, 10), false, "nothing linked, nothing gone"),
        ((0, 0, 5, 50, 10), false, "nothing gone"),
        ((8, 8, 8, 50, usize::MAX), false, "the brake turned off"),
        ((30, 30, 30, 50, usize::MAX), false, "the brake turned off"),
    ];
    for ((deletes, gone, linked, percent, min), expected, why) in rows {
        assert_eq!(
            brakes(deletes, gone, linked, percent, min),
            expected,
            "{why}: {deletes} deletes, {gone} gone of {linked}"
        );
    }
}

#[test]
fn twins_of_one_record() {
    let synced = contact("Ada", "Berg", "ada@x.example", None);
    let crm_now = contact("Ada", "Lind", "ada@x.example", None);
    let edited = contact("Ada", "Berg", "ada@x.example", Some("Broker"));
    let l = link("c1", "i1", &synced, 3);
    let twin = |data: &ItemData, record: Option<&ItemData>| {
        plan_twin(
            remote("i2", "ck9", Some("c1"), data.clone()),
            &l,
            record,
            "i1",
        )
    };

    // A second copy of what was synced, or of what the record holds now (a late create
    // after a CRM edit): the newcomer goes, the linked item stays linked.
    for (data, record) in [
        (&synced, Some(&synced)),
        (&crm_now, Some(&crm_now)),
        (&synced, None),
    ] {
        match twin(data, record) {
            Action::RemoveTwin { crm_id, item, kept } => {
                assert_eq!(
                    (crm_id.as_str(), item.id.as_str(), kept.as_str()),
                    ("c1", "i2", "i1")
                );
            }
            other => panic!("not a twin removal: {other:?}"),
        }
    }
    // Anything else is an item of its own (an owner's edited copy): a new record, and
    // nothing deleted.
    match twin(&edited, Some(&crm_now)) {
        Action::CrmCreate {
            crm_id, item, data, ..
        } => {
            assert_eq!(crm_id, crm_id_for_item("i2"));
            assert_eq!(item.id, "i2");
            assert_eq!(data, edited);
        }
        other => panic!("not a new record: {other:?}"),
    }
    // The dry run names a removal.
    let line = twin(&synced, None).to_string();
    assert!(
        line.contains("remove twin") && line.contains("i2 duplicates i1"),
        "{line}"
    );
}
