//! Parsing throughput and peak heap for the two largest responses the sync reads:
//! a 512-item `SyncFolderItems` contacts page and a 100-item `GetItem` calendar batch.
//!
//! Run: `cargo bench -p mailbridge-ews --bench parse`. Prints one Markdown table row per
//! document; the figures go into BENCHMARKS.md.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::cast_precision_loss)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use mailbridge_ews::Operation;
use mailbridge_ews::ops::{GetItem, SyncFolderItems};
use peak_alloc::PeakAlloc;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

const ENVELOPE_HEAD: &str = r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="20" MajorBuildNumber="8722" MinorBuildNumber="21" Version="V2018_01_08" xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types"/></s:Header><s:Body xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">"#;
const ENVELOPE_TAIL: &str = "</s:Body></s:Envelope>";

fn contacts_page(items: usize) -> String {
    let mut xml = String::from(ENVELOPE_HEAD);
    xml.push_str(r#"<m:SyncFolderItemsResponse><m:ResponseMessages><m:SyncFolderItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:SyncState>H4sIAAAAAAAEAO29B2AcSZYlJi9tynt/SvVK1+B0oQiAYBMk2JBAEOzBiM3mkuwdaUcjKasqgcplVmVdZhZAzO2dvPfee++999577733</m:SyncState><m:IncludesLastItemInRange>false</m:IncludesLastItemInRange><m:Changes>"#);
    for i in 0..items {
        let _ = write!(
            xml,
            r#"<t:Create><t:Contact><t:ItemId Id="AAMkAGI2TG93AAA{i:08}AAAAAAEOAAA=" ChangeKey="EQAAABYAAAD6vA{i:06}"/><t:ParentFolderId Id="AAMkAGI2TG93AAAuAAAAAAEOAAA=" ChangeKey="AQAAAA=="/><t:ItemClass>IPM.Contact</t:ItemClass><t:Subject>Agent {i} Example</t:Subject><t:Sensitivity>Normal</t:Sensitivity><t:Body BodyType="Text">Met at the open house on Elm Street &amp; asked about 3-bed listings. Prefers e-mail; call after 5 pm.</t:Body><t:DateTimeReceived>2026-11-02T10:15:00Z</t:DateTimeReceived><t:Size>4312</t:Size><t:Categories><t:String>Buyer</t:String><t:String>Hot lead</t:String></t:Categories><t:Importance>Normal</t:Importance><t:DateTimeCreated>2026-11-02T10:15:00Z</t:DateTimeCreated><t:ExtendedProperty><t:ExtendedFieldURI PropertySetId="8c3f1f0e-5d2b-4a7e-9b61-6d61696c6272" PropertyName="MailbridgeCrmId" PropertyType="String"/><t:Value>crm-{i:07}</t:Value></t:ExtendedProperty><t:LastModifiedTime>2026-11-30T08:00:00Z</t:LastModifiedTime><t:FileAs>Example, Agent {i}</t:FileAs><t:DisplayName>Agent {i} Example</t:DisplayName><t:GivenName>Agent {i}</t:GivenName><t:CompanyName>Harbor Realty Group</t:CompanyName><t:EmailAddresses><t:Entry Key="EmailAddress1">agent{i}@harbor-realty.example</t:Entry><t:Entry Key="EmailAddress2">agent{i}.home@mail.example</t:Entry></t:EmailAddresses><t:PhysicalAddresses><t:Entry Key="Business"><t:Street>{i} Harbor Way, Suite 200</t:Street><t:City>Portland</t:City><t:State>OR</t:State><t:CountryOrRegion>United States</t:CountryOrRegion><t:PostalCode>97201</t:PostalCode></t:Entry></t:PhysicalAddresses><t:PhoneNumbers><t:Entry Key="BusinessPhone">+1 503 555 {i:04}</t:Entry><t:Entry Key="MobilePhone">+1 971 555 {i:04}</t:Entry><t:Entry Key="HomePhone"/></t:PhoneNumbers><t:Birthday>1984-05-17T12:00:00Z</t:Birthday><t:Department>Residential</t:Department><t:JobTitle>Buyer's agent</t:JobTitle><t:Surname>Example</t:Surname></t:Contact></t:Create>"#
        );
    }
    xml.push_str("</m:Changes></m:SyncFolderItemsResponseMessage></m:ResponseMessages></m:SyncFolderItemsResponse>");
    xml.push_str(ENVELOPE_TAIL);
    xml
}

fn calendar_batch(items: usize) -> String {
    let mut xml = String::from(ENVELOPE_HEAD);
    xml.push_str("<m:GetItemResponse><m:ResponseMessages>");
    for i in 0..items {
        let _ = write!(
            xml,
            r#"<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:CalendarItem><t:ItemId Id="AAMkADcal{i:08}AAA=" ChangeKey="DwAAABYAAAA{i:06}"/><t:Subject>Showing: {i} Harbor Way</t:Subject><t:Sensitivity>Normal</t:Sensitivity><t:Body BodyType="Text">Bring the disclosure packet. Lockbox code is with the listing agent; parking behind the building.</t:Body><t:Categories><t:String>Showing</t:String></t:Categories><t:ReminderIsSet>true</t:ReminderIsSet><t:ReminderMinutesBeforeStart>15</t:ReminderMinutesBeforeStart><t:ExtendedProperty><t:ExtendedFieldURI PropertySetId="8c3f1f0e-5d2b-4a7e-9b61-6d61696c6272" PropertyName="MailbridgeCrmId" PropertyType="String"/><t:Value>evt-{i:07}</t:Value></t:ExtendedProperty><t:LastModifiedTime>2026-11-30T08:00:00Z</t:LastModifiedTime><t:UID>040000008200E00074C5B7101A82E0080000000{i:08}</t:UID><t:Start>2026-12-{day:02}T16:00:00Z</t:Start><t:End>2026-12-{day:02}T17:00:00Z</t:End><t:IsAllDayEvent>false</t:IsAllDayEvent><t:LegacyFreeBusyStatus>Busy</t:LegacyFreeBusyStatus><t:Location>{i} Harbor Way, Portland</t:Location><t:IsMeeting>true</t:IsMeeting><t:IsCancelled>false</t:IsCancelled><t:IsRecurring>true</t:IsRecurring><t:CalendarItemType>RecurringMaster</t:CalendarItemType><t:Organizer><t:Mailbox><t:Name>Agent Example</t:Name><t:EmailAddress>agent@harbor-realty.example</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType></t:Mailbox></t:Organizer><t:RequiredAttendees><t:Attendee><t:Mailbox><t:Name>Buyer One</t:Name><t:EmailAddress>buyer1@mail.example</t:EmailAddress></t:Mailbox><t:ResponseType>Accept</t:ResponseType><t:LastResponseTime>2026-11-29T09:00:00Z</t:LastResponseTime></t:Attendee><t:Attendee><t:Mailbox><t:Name>Buyer Two</t:Name><t:EmailAddress>buyer2@mail.example</t:EmailAddress></t:Mailbox><t:ResponseType>NoResponseReceived</t:ResponseType></t:Attendee></t:RequiredAttendees><t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Tuesday Thursday</t:DaysOfWeek><t:FirstDayOfWeek>Monday</t:FirstDayOfWeek></t:WeeklyRecurrence><t:EndDateRecurrence><t:StartDate>2026-12-01Z</t:StartDate><t:EndDate>2027-03-01Z</t:EndDate></t:EndDateRecurrence></t:Recurrence><t:ModifiedOccurrences><t:Occurrence><t:ItemId Id="AAMkADocc{i:08}AAA=" ChangeKey="DwAAAB"/><t:Start>2026-12-10T17:00:00Z</t:Start><t:End>2026-12-10T18:00:00Z</t:End><t:OriginalStart>2026-12-10T16:00:00Z</t:OriginalStart></t:Occurrence></t:ModifiedOccurrences><t:DeletedOccurrences><t:DeletedOccurrence><t:Start>2026-12-24T16:00:00Z</t:Start></t:DeletedOccurrence></t:DeletedOccurrences><t:StartTimeZone Id="Pacific Standard Time" Name="(UTC-08:00) Pacific Time (US &amp; Canada)"/><t:EndTimeZone Id="Pacific Standard Time"/></t:CalendarItem></m:Items></m:GetItemResponseMessage>"#,
            day = i % 28 + 1
        );
    }
    xml.push_str("</m:ResponseMessages></m:GetItemResponse>");
    xml.push_str(ENVELOPE_TAIL);
    xml
}

struct Figures {
    bytes: usize,
    items: usize,
    median: Duration,
    peak_heap: usize,
}

fn measure(xml: &str, items: usize, parse: impl Fn(&[u8]) -> usize) -> Figures {
    assert_eq!(
        parse(xml.as_bytes()),
        items,
        "the document did not parse to {items} items"
    );

    let base = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let parsed = black_box(parse(black_box(xml.as_bytes())));
    let peak_heap = HEAP.peak_usage().saturating_sub(base);
    assert_eq!(parsed, items);

    let mut times: Vec<Duration> = (0..40)
        .map(|_| {
            let started = Instant::now();
            black_box(parse(black_box(xml.as_bytes())));
            started.elapsed()
        })
        .collect();
    times.sort();
    Figures {
        bytes: xml.len(),
        items,
        median: times[times.len() / 2],
        peak_heap,
    }
}

fn report(name: &str, f: &Figures) {
    let secs = f.median.as_secs_f64();
    println!(
        "| {name} | {:.2} MB | {} | {:.2} ms | {:.0} MB/s | {:.0} items/s | {:.2} MB |",
        f.bytes as f64 / 1e6,
        f.items,
        secs * 1e3,
        f.bytes as f64 / 1e6 / secs,
        f.items as f64 / secs,
        f.peak_heap as f64 / 1e6,
    );
}

fn main() {
    let contacts = contacts_page(512);
    let calendar = calendar_batch(100);

    let sync = measure(&contacts, 512, |body| {
        SyncFolderItems::parse_envelope(body).unwrap().changes.len()
    });
    let get = measure(&calendar, 100, |body| {
        GetItem::parse_envelope(body).unwrap().len()
    });

    println!(
        "| document | size | items | median parse | throughput | items/s | peak heap while parsing |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    report("SyncFolderItems, 512 full contacts", &sync);
    report("GetItem, 100 recurring calendar items", &get);
}
