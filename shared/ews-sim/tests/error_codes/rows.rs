//! The rows of the error-code table: one request per code the simulator can emit.

use mailbridge_ews_sim::{Fault, World};

use crate::fixtures::{
    CONTACT, Fixtures, MONDAY_ELEVEN, MONDAY_TEN, create, event, find, get_folder, get_item,
    restrict, set_job_title, update,
};
use crate::harness::Env;
use crate::raw::{Case, envelope, op};

/// Every code the rows trigger, so the guard can compare without a running server.
pub const CODES: [&str; 40] = [
    "ErrorAccessDenied",
    "ErrorCalendarCannotUseIdForOccurrenceId",
    "ErrorCalendarEndDateIsEarlierThanStartDate",
    "ErrorCalendarInvalidRecurrence",
    "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
    "ErrorCalendarOccurrenceIsDeletedFromRecurrence",
    "ErrorCalendarViewRangeTooBig",
    "ErrorCannotCreateCalendarItemInNonCalendarFolder",
    "ErrorCannotCreateContactInNonContactFolder",
    "ErrorChangeKeyRequiredForWriteOperations",
    "ErrorExceededFindCountLimit",
    "ErrorFolderNotFound",
    "ErrorImpersonateUserDenied",
    "ErrorIncorrectUpdatePropertyCount",
    "ErrorInvalidChangeKey",
    "ErrorInvalidExchangeImpersonationHeaderData",
    "ErrorInvalidExtendedProperty",
    "ErrorInvalidIdEmpty",
    "ErrorInvalidIdMalformed",
    "ErrorInvalidOperation",
    "ErrorInvalidPropertyAppend",
    "ErrorInvalidPropertyDelete",
    "ErrorInvalidPropertySet",
    "ErrorInvalidRecipients",
    "ErrorInvalidRequest",
    "ErrorInvalidSendItemSaveSettings",
    "ErrorInvalidServerVersion",
    "ErrorInvalidSyncStateData",
    "ErrorIrresolvableConflict",
    "ErrorItemNotFound",
    "ErrorMessageDispositionRequired",
    "ErrorMessageSizeExceeded",
    "ErrorNonExistentMailbox",
    "ErrorSchemaValidation",
    "ErrorSendMeetingCancellationsRequired",
    "ErrorSendMeetingInvitationsOrCancellationsRequired",
    "ErrorSendMeetingInvitationsRequired",
    "ErrorServerBusy",
    "ErrorUnsupportedPathForQuery",
    "ErrorUnsupportedQueryFilter",
];

/// One row per code, in the order of [`CODES`].
#[allow(clippy::too_many_lines)]
pub fn cases(env: &Env, f: &Fixtures) -> Vec<Case> {
    let mb = env.mailbox();
    let other = &env.tenant.mailboxes[1];
    let contact_id = format!(r#"<t:ItemId Id="{}"/>"#, f.contact);
    let occurrence = |index: u32| {
        get_item(&format!(
            r#"<t:OccurrenceItemId RecurringMasterId="{}" InstanceIndex="{index}"/>"#,
            f.series
        ))
    };
    let overwrite = r#"ConflictResolution="AlwaysOverwrite""#;
    let ids_501 = format!(r#"<t:ItemId Id="{}"/>"#, f.contact).repeat(501);
    // A message of 36 MB: past Exchange Online's default 35 MB send limit.
    let huge_body = "a".repeat(36 * 1024 * 1024);
    let message = |body: &str, to: &str| {
        format!(
            r#"<t:Message><t:Subject>Hi</t:Subject><t:Body BodyType="Text">{body}</t:Body>{to}</t:Message>"#
        )
    };
    let to = "<t:ToRecipients><t:Mailbox><t:EmailAddress>buyer@buyers.example</t:EmailAddress></t:Mailbox></t:ToRecipients>";
    vec![
        Case::new(
            "a folder of another mailbox",
            op(
                mb,
                &format!(
                    r#"<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="contacts"><t:Mailbox><t:EmailAddress>{other}</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId></m:FolderIds></m:GetFolder>"#
                ),
            ),
            200,
            "ErrorAccessDenied",
        ),
        Case::new(
            "an occurrence of an item that is no series",
            op(
                mb,
                &get_item(&format!(
                    r#"<t:OccurrenceItemId RecurringMasterId="{}" InstanceIndex="1"/>"#,
                    f.contact
                )),
            ),
            200,
            "ErrorCalendarCannotUseIdForOccurrenceId",
        ),
        Case::new(
            "an event that ends before it starts",
            op(
                mb,
                &create(
                    r#"SendMeetingInvitations="SendToNone""#,
                    None,
                    &event(MONDAY_ELEVEN, MONDAY_TEN, ""),
                ),
            ),
            200,
            "ErrorCalendarEndDateIsEarlierThanStartDate",
        ),
        Case::new(
            "a recurrence every 0 days",
            op(
                mb,
                &create(
                    r#"SendMeetingInvitations="SendToNone""#,
                    None,
                    &event(
                        MONDAY_TEN,
                        MONDAY_ELEVEN,
                        "<t:Recurrence><t:DailyRecurrence><t:Interval>0</t:Interval></t:DailyRecurrence><t:NumberedRecurrence><t:StartDate>2027-03-01</t:StartDate><t:NumberOfOccurrences>3</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>",
                    ),
                ),
            ),
            500,
            "ErrorCalendarInvalidRecurrence",
        ),
        Case::new(
            "the 99th occurrence of five",
            op(mb, &occurrence(99)),
            200,
            "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
        ),
        Case::new(
            "a deleted occurrence",
            op(mb, &occurrence(3)),
            200,
            "ErrorCalendarOccurrenceIsDeletedFromRecurrence",
        ),
        Case::new(
            "a calendar view of three years",
            op(
                mb,
                &find(
                    "calendar",
                    r#"<m:CalendarView StartDate="2027-01-01T00:00:00Z" EndDate="2030-01-01T00:00:00Z"/>"#,
                    "",
                ),
            ),
            500,
            "ErrorCalendarViewRangeTooBig",
        ),
        Case::new(
            "an event saved in Contacts",
            op(
                mb,
                &create(
                    r#"SendMeetingInvitations="SendToNone""#,
                    Some("contacts"),
                    &event(MONDAY_TEN, MONDAY_ELEVEN, ""),
                ),
            ),
            200,
            "ErrorCannotCreateCalendarItemInNonCalendarFolder",
        ),
        Case::new(
            "a contact saved in Calendar",
            op(mb, &create("", Some("calendar"), CONTACT)),
            200,
            "ErrorCannotCreateContactInNonContactFolder",
        ),
        Case::new(
            "a guarded update without a change key",
            op(
                mb,
                &update(
                    r#"ConflictResolution="NeverOverwrite""#,
                    &contact_id,
                    &set_job_title("<t:Contact><t:JobTitle>A</t:JobTitle></t:Contact>"),
                ),
            ),
            200,
            "ErrorChangeKeyRequiredForWriteOperations",
        ),
        Case::new(
            "GetItem of 501 ids",
            op(mb, &get_item(&ids_501)),
            500,
            "ErrorExceededFindCountLimit",
        ),
        Case::new(
            "a folder the simulator does not hold",
            op(
                mb,
                r#"<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="tasks"/></m:FolderIds></m:GetFolder>"#,
            ),
            200,
            "ErrorFolderNotFound",
        ),
        Case::new(
            "a mailbox outside the app's scope",
            op(&f.out_of_scope, &get_folder()),
            500,
            "ErrorImpersonateUserDenied",
        ),
        Case::new(
            "an update holding two properties",
            op(
                mb,
                &update(
                    overwrite,
                    &contact_id,
                    &set_job_title(
                        "<t:Contact><t:JobTitle>A</t:JobTitle><t:Surname>B</t:Surname></t:Contact>",
                    ),
                ),
            ),
            200,
            "ErrorIncorrectUpdatePropertyCount",
        ),
        Case::new(
            "a change key never issued",
            op(
                mb,
                &update(
                    r#"ConflictResolution="NeverOverwrite""#,
                    &format!(r#"<t:ItemId Id="{}" ChangeKey="bm90IGEga2V5"/>"#, f.contact),
                    &set_job_title("<t:Contact><t:JobTitle>A</t:JobTitle></t:Contact>"),
                ),
            ),
            200,
            "ErrorInvalidChangeKey",
        ),
        Case::new(
            "no impersonation header",
            envelope(
                r#"<t:RequestServerVersion Version="Exchange2016"/>"#,
                &get_folder(),
            ),
            500,
            "ErrorInvalidExchangeImpersonationHeaderData",
        ),
        Case::new(
            "an extended property named without its set",
            op(
                mb,
                &restrict(
                    r#"<t:Exists><t:ExtendedFieldURI PropertyName="CrmId" PropertyType="String"/></t:Exists>"#,
                ),
            ),
            500,
            "ErrorInvalidExtendedProperty",
        ),
        Case::new(
            "an empty item id",
            op(
                mb,
                r#"<m:DeleteItem DeleteType="HardDelete"><m:ItemIds><t:ItemId Id=""/></m:ItemIds></m:DeleteItem>"#,
            ),
            200,
            "ErrorInvalidIdEmpty",
        ),
        Case::new(
            "an id the server never issued",
            op(mb, &get_item(r#"<t:ItemId Id="AAAA"/>"#)),
            200,
            "ErrorInvalidIdMalformed",
        ),
        Case::new(
            "a calendar view of Contacts",
            op(
                mb,
                &find(
                    "contacts",
                    r#"<m:CalendarView StartDate="2027-01-01T00:00:00Z" EndDate="2027-02-01T00:00:00Z"/>"#,
                    "",
                ),
            ),
            200,
            "ErrorInvalidOperation",
        ),
        Case::new(
            "appending to a job title",
            op(
                mb,
                &update(
                    overwrite,
                    &contact_id,
                    r#"<t:AppendToItemField><t:FieldURI FieldURI="contacts:JobTitle"/><t:Contact><t:JobTitle>A</t:JobTitle></t:Contact></t:AppendToItemField>"#,
                ),
            ),
            200,
            "ErrorInvalidPropertyAppend",
        ),
        Case::new(
            "deleting the creation time",
            op(
                mb,
                &update(
                    overwrite,
                    &contact_id,
                    r#"<t:DeleteItemField><t:FieldURI FieldURI="item:DateTimeCreated"/></t:DeleteItemField>"#,
                ),
            ),
            200,
            "ErrorInvalidPropertyDelete",
        ),
        Case::new(
            "a message value for a contact",
            op(
                mb,
                &update(
                    overwrite,
                    &contact_id,
                    &set_job_title("<t:Message><t:Subject>A</t:Subject></t:Message>"),
                ),
            ),
            200,
            "ErrorInvalidPropertySet",
        ),
        Case::new(
            "a message sent to nobody",
            op(
                mb,
                &create(
                    r#"MessageDisposition="SendOnly""#,
                    None,
                    &message("Hello", ""),
                ),
            ),
            200,
            "ErrorInvalidRecipients",
        ),
        Case::new(
            "an operation the simulator does not serve",
            op(mb, "<m:GetAttachment/>"),
            500,
            "ErrorInvalidRequest",
        ),
        Case::new(
            "a draft saved in Contacts",
            op(
                mb,
                &create(
                    r#"MessageDisposition="SaveOnly""#,
                    Some("contacts"),
                    &message("Hello", to),
                ),
            ),
            200,
            "ErrorInvalidSendItemSaveSettings",
        ),
        Case::new(
            "an unknown server version",
            envelope(
                &crate::raw::impersonating(mb).replace("Exchange2016", "Exchange1999"),
                &get_folder(),
            ),
            500,
            "ErrorInvalidServerVersion",
        ),
        Case::new(
            "a sync state never issued",
            op(
                mb,
                r#"<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="contacts"/></m:SyncFolderId><m:SyncState>AAAA</m:SyncState><m:MaxChangesReturned>10</m:MaxChangesReturned></m:SyncFolderItems>"#,
            ),
            200,
            "ErrorInvalidSyncStateData",
        ),
        Case::new(
            "a stale change key",
            op(
                mb,
                &update(
                    r#"ConflictResolution="NeverOverwrite""#,
                    &format!(
                        r#"<t:ItemId Id="{}" ChangeKey="{}"/>"#,
                        f.contact, f.stale_key
                    ),
                    &set_job_title("<t:Contact><t:JobTitle>A</t:JobTitle></t:Contact>"),
                ),
            ),
            200,
            "ErrorIrresolvableConflict",
        ),
        Case::new(
            "an item the owner deleted",
            op(mb, &get_item(&format!(r#"<t:ItemId Id="{}"/>"#, f.gone))),
            200,
            "ErrorItemNotFound",
        ),
        Case::new(
            "a message without a disposition",
            op(mb, &create("", None, &message("Hello", to))),
            200,
            "ErrorMessageDispositionRequired",
        ),
        Case::new(
            "a message of 36 MB",
            op(
                mb,
                &create(
                    r#"MessageDisposition="SendOnly""#,
                    None,
                    &message(&huge_body, to),
                ),
            ),
            200,
            "ErrorMessageSizeExceeded",
        ),
        Case::new(
            "a mailbox no tenant has",
            op("nobody@contoso.example", &get_folder()),
            500,
            "ErrorNonExistentMailbox",
        ),
        Case::new(
            "not XML",
            "<not xml".to_owned(),
            500,
            "ErrorSchemaValidation",
        ),
        Case::new(
            "deleting an event without saying whether to cancel",
            op(
                mb,
                &format!(
                    r#"<m:DeleteItem DeleteType="HardDelete"><m:ItemIds><t:ItemId Id="{}"/></m:ItemIds></m:DeleteItem>"#,
                    f.single
                ),
            ),
            200,
            "ErrorSendMeetingCancellationsRequired",
        ),
        Case::new(
            "updating an event without saying whether to notify",
            op(
                mb,
                &update(
                    overwrite,
                    &format!(r#"<t:ItemId Id="{}"/>"#, f.single),
                    r#"<t:SetItemField><t:FieldURI FieldURI="calendar:Location"/><t:CalendarItem><t:Location>Hall</t:Location></t:CalendarItem></t:SetItemField>"#,
                ),
            ),
            200,
            "ErrorSendMeetingInvitationsOrCancellationsRequired",
        ),
        Case::new(
            "creating an event without saying whether to invite",
            op(mb, &create("", None, &event(MONDAY_TEN, MONDAY_ELEVEN, ""))),
            200,
            "ErrorSendMeetingInvitationsRequired",
        ),
        Case::new(
            "a busy server",
            op(mb, &get_folder()),
            500,
            "ErrorServerBusy",
        )
        .after(|world: &World| world.inject(Fault::ServerBusy, None)),
        Case::new(
            "a restriction on a property that cannot be searched",
            op(
                mb,
                &restrict(r#"<t:Exists><t:FieldURI FieldURI="item:Preview"/></t:Exists>"#),
            ),
            500,
            "ErrorUnsupportedPathForQuery",
        ),
        Case::new(
            "a search expression the server lacks",
            op(
                mb,
                &restrict(
                    r#"<t:Excludes><t:FieldURI FieldURI="item:Importance"/><t:Bitmask Value="1"/></t:Excludes>"#,
                ),
            ),
            500,
            "ErrorUnsupportedQueryFilter",
        ),
    ]
}
