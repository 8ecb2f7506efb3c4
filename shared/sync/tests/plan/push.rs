//! The push's planning rules, one table row per situation: what each CRM change waiting
//! in the outbox becomes in the mailbox, and what the mailbox's answers lead to.

use super::*;

fn fields(old: &ItemData, new: &ItemData) -> Vec<String> {
    changed_fields(old, new).into_iter().collect()
}

#[test]
fn push_plans() {
    let base = contact("Ada", "Berg", "ada@x.example", None);
    let edited = contact("Ada", "Berg", "ada@x.example", Some("Broker"));
    let l = link("c1", "i1", &base, 3);

    // The record is gone without a trace (purged): nothing to do.
    assert_eq!(
        plan_push("c1", None, Some(&l)),
        PushAction::Skip {
            crm_id: "c1".into()
        }
    );
    // New in the CRM: a create.
    let a = plan_push("c2", Some(&crm("c2", 1, Some(base.clone()))), None);
    assert_eq!(
        a,
        PushAction::Create {
            crm_id: "c2".into(),
            version: 1,
            data: base.clone()
        }
    );
    assert_eq!(a.to_string(), "mailbox create c2");
    // The item holds the record already at this version (our pull wrote it): nothing.
    assert_eq!(
        plan_push("c1", Some(&crm("c1", 3, Some(base.clone()))), Some(&l)),
        PushAction::Skip {
            crm_id: "c1".into()
        }
    );
    // …at a newer version (a save without changes): only the link's version moves.
    assert_eq!(
        plan_push("c1", Some(&crm("c1", 4, Some(base.clone()))), Some(&l)),
        PushAction::RefreshVersion {
            crm_id: "c1".into(),
            version: 4
        }
    );
    // Edited: an update of the changed field alone, under the link's change key.
    let a = plan_push("c1", Some(&crm("c1", 4, Some(edited.clone()))), Some(&l));
    let PushAction::Update {
        crm_id,
        version,
        item,
        base: b,
        old,
        data,
    } = &a
    else {
        panic!("{a:?}")
    };
    assert_eq!((crm_id.as_str(), *version), ("c1", 4));
    assert_eq!(
        *item,
        ItemRef {
            id: "i1".into(),
            change_key: "ck0".into()
        }
    );
    assert_eq!(
        b.as_ref().map(ItemData::content_hash),
        Some(base.content_hash())
    );
    assert_eq!(fields(old, data), ["job_title"]);
    assert_eq!(a.to_string(), "mailbox update c1 (job_title)");
    // Without a stored base, every field the record holds is sent.
    let mut no_base = l.clone();
    no_base.base = None;
    let a = plan_push(
        "c1",
        Some(&crm("c1", 4, Some(edited.clone()))),
        Some(&no_base),
    );
    let PushAction::Update {
        base: None,
        old,
        data,
        ..
    } = &a
    else {
        panic!("{a:?}")
    };
    let sent: BTreeSet<String> = changed_fields(old, data);
    for field in ["given_name", "surname", "emails", "job_title"] {
        assert!(sent.contains(field), "{field} missing from {sent:?}");
    }
    // Deleted in the CRM: the linked item goes to Deleted Items.
    let a = plan_push("c1", Some(&crm("c1", 4, None)), Some(&l));
    assert_eq!(
        a,
        PushAction::Delete {
            crm_id: "c1".into(),
            item_id: "i1".into()
        }
    );
    assert_eq!(a.to_string(), "mailbox delete c1 (to Deleted Items)");
    // Deleted before it was ever linked: any stamped item a lost create left goes.
    let a = plan_push("c3", Some(&crm("c3", 2, None)), None);
    assert_eq!(
        a,
        PushAction::DeleteStamped {
            crm_id: "c3".into()
        }
    );
    assert!(a.to_string().starts_with("mailbox delete c3"), "{a}");
}

#[test]
fn push_answers_to_the_mailbox() {
    let base = contact("Ada", "Berg", "ada@x.example", None);
    let other = contact("Ada", "Berg", "ada@x.example", Some("Broker"));

    // A create: a stamped item from a lost response is taken or brought up to date.
    assert_eq!(plan_create(None, &base), CreateStep::Create);
    let found = remote("i1", "ck1", Some("c1"), base.clone());
    assert_eq!(
        plan_create(Some(found.clone()), &base),
        CreateStep::Adopt(found.item.clone())
    );
    let stale = remote("i1", "ck1", Some("c1"), other.clone());
    assert_eq!(
        plan_create(Some(stale.clone()), &base),
        CreateStep::Overwrite(stale)
    );

    // A refused update.
    assert_eq!(
        plan_refused_update(&BackendError::Conflict),
        Refused::ReadAndMerge
    );
    assert_eq!(
        plan_refused_update(&BackendError::NotFound),
        Refused::Recreate
    );
    for err in [
        BackendError::Throttled { back_off: None },
        BackendError::Invalid("surname".into()),
        BackendError::Transient("reset".into()),
    ] {
        assert_eq!(plan_refused_update(&err), Refused::Fail, "{err}");
    }

    // The merge after a stale change key: the owner's other field comes back to the CRM…
    let crm_edit = ItemData::Contact(ContactData {
        department: Some("Sales".into()),
        ..match base.clone() {
            ItemData::Contact(c) => c,
            ItemData::Event(_) => unreachable!(),
        }
    });
    let m = plan_push_merge(Some(&base), &crm_edit, &other);
    assert!(m.conflicts.is_empty());
    assert!(m.crm_write);
    let ItemData::Contact(merged) = &m.merged else {
        panic!()
    };
    assert_eq!(
        (merged.department.as_deref(), merged.job_title.as_deref()),
        (Some("Sales"), Some("Broker"))
    );
    // …the same field on both: the CRM's value, one conflict, the record unchanged.
    let crm_title = contact("Ada", "Berg", "ada@x.example", Some("Agent"));
    let m = plan_push_merge(Some(&base), &crm_title, &other);
    assert_eq!(m.conflicts.len(), 1);
    assert_eq!(m.conflicts[0].field, "job_title");
    assert!(!m.crm_write);
    assert_eq!(m.merged.content_hash(), crm_title.content_hash());
    // Without a base the record is written whole.
    let m = plan_push_merge(None, &crm_title, &other);
    assert!(m.conflicts.is_empty() && !m.crm_write);
    assert_eq!(m.merged.content_hash(), crm_title.content_hash());
}
