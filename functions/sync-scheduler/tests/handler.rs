//! The sync-scheduler handler on a real scheduled event, with its state in `DynamoDB` on
//! moto and the sync queue in SQS on moto (read back with `ReceiveMessage`), or an
//! in-process queue that refuses entries.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Mutex;

use chrono::{Duration, Utc};
use mailbridge_ews_sim::preset;
use mailbridge_fn_common::SyncRequest;
use mailbridge_fn_testkit::{Deployment, Onboarded, event};
use mailbridge_store::{Expect, StateStore, TenantStatus};
use mailbridge_sync_scheduler::{
    EntryFailure, QueueError, ScheduleReport, SqsQueue, SyncQueue, handle,
};

fn scheduled()
-> lambda_runtime::LambdaEvent<aws_lambda_events::event::eventbridge::EventBridgeEvent> {
    event(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/events/scheduled-event.json"),
        &[],
    )
}

/// Contoso (2 mailboxes), Northwind (12) and Fabrikam (1, paused): 14 mailboxes due.
async fn three_tenants(deployment: &Deployment) -> (Onboarded, Vec<String>) {
    let contoso = deployment.contoso(0, Duration::days(300)).await;
    let world = contoso.sim.world();
    let locals: Vec<String> = (1..=12).map(|n| format!("agent{n:02}")).collect();
    let locals: Vec<&str> = locals.iter().map(String::as_str).collect();
    let northwind = preset::tenant(
        world,
        "3c9d7e1f-2a4b-4c6d-8e0f-1a2b3c4d5e6f",
        "northwind.example",
        &locals,
    )
    .unwrap();
    let expires = Some(Utc::now() + Duration::days(300));
    deployment.onboard(&contoso.sim, &northwind, expires).await;
    let fabrikam = preset::tenant(
        world,
        "0f4b2a6c-3d5e-4f70-8a9b-1c2d3e4f5a6b",
        "fabrikam.example",
        &["chris.ek"],
    )
    .unwrap();
    deployment.onboard(&contoso.sim, &fabrikam, expires).await;
    let state = &deployment.services.state;
    let mut paused = state
        .get_tenant(&fabrikam.tenant_id)
        .await
        .unwrap()
        .unwrap();
    paused.status = TenantStatus::Disabled;
    state
        .put_tenant(&paused, Expect::Version(paused.version))
        .await
        .unwrap();

    let mut due: Vec<String> = contoso
        .tenant
        .mailboxes
        .iter()
        .chain(&northwind.mailboxes)
        .cloned()
        .collect();
    due.sort();
    (contoso, due)
}

/// Every message on the queue, read with `ReceiveMessage` until it is empty.
async fn drain(deployment: &Deployment) -> Vec<SyncRequest> {
    let sqs = deployment.sqs();
    let mut requests = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(deployment.queue_url())
            .max_number_of_messages(10)
            .visibility_timeout(300)
            .send()
            .await
            .unwrap();
        if received.messages().is_empty() {
            return requests;
        }
        for message in received.messages() {
            requests.push(SyncRequest::parse(message.body()).unwrap());
        }
    }
}

#[tokio::test]
async fn each_due_mailbox_is_queued_once_even_when_the_schedule_runs_twice() {
    let deployment = Deployment::new().await;
    let (_sim, due) = three_tenants(&deployment).await;
    let queue = SqsQueue::new(deployment.sqs(), deployment.queue_url());

    let first = handle(&deployment.services, &queue, scheduled())
        .await
        .unwrap();
    let second = handle(&deployment.services, &queue, scheduled())
        .await
        .unwrap();

    assert_eq!(
        first,
        ScheduleReport {
            due: 14,
            queued: 14,
            already_queued: 0,
            failed: 0
        }
    );
    assert_eq!(
        second,
        ScheduleReport {
            due: 14,
            queued: 0,
            already_queued: 14,
            failed: 0
        }
    );
    let requests = drain(&deployment).await;
    let mut queued: Vec<String> = requests.iter().map(|r| r.mailbox.clone()).collect();
    queued.sort();
    assert_eq!(queued, due);
    assert!(requests.iter().all(|r| r.reason() == "scheduled"));
}

/// Refuses the second entry of every batch, or every batch whole.
struct RefusingQueue {
    whole_batch: bool,
    batches: Mutex<Vec<usize>>,
}

impl SyncQueue for RefusingQueue {
    async fn send_batch(&self, requests: &[SyncRequest]) -> Result<Vec<EntryFailure>, QueueError> {
        self.batches.lock().unwrap().push(requests.len());
        if self.whole_batch {
            return Err(QueueError("AccessDenied".to_owned()));
        }
        Ok(vec![EntryFailure {
            index: 1,
            code: "InternalError".to_owned(),
            sender_fault: false,
        }])
    }
}

#[tokio::test]
async fn refused_entries_are_counted_and_not_queued_again_within_the_interval() {
    let deployment = Deployment::new().await;
    let (_sim, _due) = three_tenants(&deployment).await;
    let queue = RefusingQueue {
        whole_batch: false,
        batches: Mutex::new(Vec::new()),
    };

    let first = handle(&deployment.services, &queue, scheduled())
        .await
        .unwrap();
    let second = handle(&deployment.services, &queue, scheduled())
        .await
        .unwrap();

    assert_eq!(*queue.batches.lock().unwrap(), [10, 4]);
    assert_eq!((first.queued, first.failed), (12, 2));
    assert_eq!((second.queued, second.already_queued), (0, 14));
}

#[tokio::test]
async fn a_refused_batch_fails_all_its_mailboxes_and_the_run_still_reports() {
    let deployment = Deployment::new().await;
    let (_sim, _due) = three_tenants(&deployment).await;
    let queue = RefusingQueue {
        whole_batch: true,
        batches: Mutex::new(Vec::new()),
    };

    let report = handle(&deployment.services, &queue, scheduled())
        .await
        .unwrap();

    assert_eq!(
        report,
        ScheduleReport {
            due: 14,
            queued: 0,
            already_queued: 0,
            failed: 14
        }
    );
}

#[tokio::test]
async fn nothing_due_queues_nothing() {
    let deployment = Deployment::new().await;
    let queue = SqsQueue::new(deployment.sqs(), deployment.queue_url());

    let report = handle(&deployment.services, &queue, scheduled())
        .await
        .unwrap();

    assert_eq!(report, ScheduleReport::default());
    assert!(drain(&deployment).await.is_empty());
}

/// The stack's sample schedule event (`infra/events/`), when it exists, is handled.
#[tokio::test]
async fn the_stacks_sample_schedule_event_is_handled() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../infra/events/schedule-sync-scheduler.json");
    if !path.is_file() {
        return;
    }
    let deployment = Deployment::new().await;
    let queue = SqsQueue::new(deployment.sqs(), deployment.queue_url());

    let report = handle(&deployment.services, &queue, event(&path, &[]))
        .await
        .unwrap();

    assert_eq!(report, ScheduleReport::default());
}
