//! Contacts: names, company, e-mail addresses, phones and addresses by key.

use std::collections::BTreeMap;
use std::io::BufRead;

use chrono::{Datelike, NaiveDate};

use super::common::{Body, string_enum};
use super::item::{ItemCommon, read_item_fields};
use crate::error::EwsError;
use crate::xml::{XmlReader, XmlWriter};

string_enum! {
    /// The three e-mail slots of a contact.
    EmailKey {
        /// E-mail 1.
        EmailAddress1 = "EmailAddress1",
        /// E-mail 2.
        EmailAddress2 = "EmailAddress2",
        /// E-mail 3.
        EmailAddress3 = "EmailAddress3",
    }
}

string_enum! {
    /// Phone number slots.
    PhoneKey {
        /// Assistant.
        AssistantPhone = "AssistantPhone",
        /// Business fax.
        BusinessFax = "BusinessFax",
        /// Business.
        BusinessPhone = "BusinessPhone",
        /// Business 2.
        BusinessPhone2 = "BusinessPhone2",
        /// Callback.
        Callback = "Callback",
        /// Car.
        CarPhone = "CarPhone",
        /// Company main.
        CompanyMainPhone = "CompanyMainPhone",
        /// Home fax.
        HomeFax = "HomeFax",
        /// Home.
        HomePhone = "HomePhone",
        /// Home 2.
        HomePhone2 = "HomePhone2",
        /// ISDN.
        Isdn = "Isdn",
        /// Mobile.
        MobilePhone = "MobilePhone",
        /// Other fax.
        OtherFax = "OtherFax",
        /// Other.
        OtherTelephone = "OtherTelephone",
        /// Pager.
        Pager = "Pager",
        /// Primary.
        PrimaryPhone = "PrimaryPhone",
        /// Radio.
        RadioPhone = "RadioPhone",
        /// Telex.
        Telex = "Telex",
        /// TTY/TDD.
        TtyTddPhone = "TtyTddPhone",
    }
}

string_enum! {
    /// Physical address slots.
    AddressKey {
        /// Home.
        Home = "Home",
        /// Business.
        Business = "Business",
        /// Other.
        Other = "Other",
    }
}

/// One postal address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PhysicalAddress {
    /// Street lines.
    pub street: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or province.
    pub state: Option<String>,
    /// Country or region.
    pub country: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
}

impl PhysicalAddress {
    /// The address parts with their EWS element and `FieldURI` names, in schema order.
    pub fn parts(&self) -> [(&'static str, &'static str, Option<&str>); 5] {
        [
            (
                "t:Street",
                "contacts:PhysicalAddress:Street",
                self.street.as_deref(),
            ),
            (
                "t:City",
                "contacts:PhysicalAddress:City",
                self.city.as_deref(),
            ),
            (
                "t:State",
                "contacts:PhysicalAddress:State",
                self.state.as_deref(),
            ),
            (
                "t:CountryOrRegion",
                "contacts:PhysicalAddress:CountryOrRegion",
                self.country.as_deref(),
            ),
            (
                "t:PostalCode",
                "contacts:PhysicalAddress:PostalCode",
                self.postal_code.as_deref(),
            ),
        ]
    }

    fn read<R: BufRead>(r: &mut XmlReader<R>) -> Result<PhysicalAddress, EwsError> {
        let mut address = PhysicalAddress::default();
        while let Some(child) = r.next_child()? {
            let slot = match child.name.as_str() {
                "Street" => &mut address.street,
                "City" => &mut address.city,
                "State" => &mut address.state,
                "CountryOrRegion" => &mut address.country,
                "PostalCode" => &mut address.postal_code,
                _ => {
                    r.skip()?;
                    continue;
                }
            };
            *slot = Some(r.read_text()?);
        }
        Ok(address)
    }
}

/// A contact in a mailbox's Contacts folder.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Contact {
    /// Id, CRM id, categories, modification time.
    pub common: ItemCommon,
    /// How Outlook files the contact ("Surname, Given").
    pub file_as: Option<String>,
    /// The display name.
    pub display_name: Option<String>,
    /// First name.
    pub given_name: Option<String>,
    /// Middle name.
    pub middle_name: Option<String>,
    /// Nickname.
    pub nickname: Option<String>,
    /// Last name.
    pub surname: Option<String>,
    /// Company.
    pub company_name: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// E-mail addresses by slot.
    pub emails: BTreeMap<EmailKey, String>,
    /// Phone numbers by slot.
    pub phones: BTreeMap<PhoneKey, String>,
    /// Postal addresses by slot.
    pub addresses: BTreeMap<AddressKey, PhysicalAddress>,
    /// Birthday (a date; Exchange stores it as a time of day that we ignore).
    pub birthday: Option<NaiveDate>,
    /// Free-text notes (the item body).
    pub notes: Option<String>,
}

impl Contact {
    /// Writes `<t:Contact>` for `CreateItem`, properties in schema order.
    pub(crate) fn write(&self, w: &mut XmlWriter) {
        w.open("t:Contact", &[]);
        if let Some(notes) = &self.notes {
            Body::text(notes.clone()).write(w);
        }
        self.common.write_categories(w);
        self.common.write_extended(w);
        w.opt_element("t:FileAs", self.file_as.as_deref());
        w.opt_element("t:DisplayName", self.display_name.as_deref());
        w.opt_element("t:GivenName", self.given_name.as_deref());
        w.opt_element("t:MiddleName", self.middle_name.as_deref());
        w.opt_element("t:Nickname", self.nickname.as_deref());
        w.opt_element("t:CompanyName", self.company_name.as_deref());
        if !self.emails.is_empty() {
            w.open("t:EmailAddresses", &[]);
            for (key, address) in &self.emails {
                w.text_element_with("t:Entry", &[("Key", key.as_str())], address);
            }
            w.close("t:EmailAddresses");
        }
        if !self.addresses.is_empty() {
            w.open("t:PhysicalAddresses", &[]);
            for (key, address) in &self.addresses {
                w.open("t:Entry", &[("Key", key.as_str())]);
                for (element, _, value) in address.parts() {
                    w.opt_element(element, value);
                }
                w.close("t:Entry");
            }
            w.close("t:PhysicalAddresses");
        }
        if !self.phones.is_empty() {
            w.open("t:PhoneNumbers", &[]);
            for (key, number) in &self.phones {
                w.text_element_with("t:Entry", &[("Key", key.as_str())], number);
            }
            w.close("t:PhoneNumbers");
        }
        if let Some(birthday) = self.birthday {
            w.check_year("t:Birthday", birthday.year());
            w.text_element("t:Birthday", &birthday_value(birthday));
        }
        w.opt_element("t:Department", self.department.as_deref());
        w.opt_element("t:JobTitle", self.job_title.as_deref());
        w.opt_element("t:Surname", self.surname.as_deref());
        w.close("t:Contact");
    }

    /// Reads the children of a `<Contact>` element already entered.
    pub(crate) fn read<R: BufRead>(r: &mut XmlReader<R>) -> Result<Contact, EwsError> {
        let mut c = Contact::default();
        let mut common = ItemCommon::default();
        read_item_fields(r, &mut common, |child, r| {
            match child.name.as_str() {
                "Body" => c.notes = Some(r.read_text()?).filter(|n| !n.is_empty()),
                "FileAs" => c.file_as = Some(r.read_text()?),
                "DisplayName" => c.display_name = Some(r.read_text()?),
                "GivenName" => c.given_name = Some(r.read_text()?),
                "MiddleName" => c.middle_name = Some(r.read_text()?),
                "Nickname" => c.nickname = Some(r.read_text()?),
                "Surname" => c.surname = Some(r.read_text()?),
                "CompanyName" => c.company_name = Some(r.read_text()?),
                "Department" => c.department = Some(r.read_text()?),
                "JobTitle" => c.job_title = Some(r.read_text()?),
                "Birthday" => c.birthday = Some(r.read_parsed("Birthday", parse_birthday)?),
                "EmailAddresses" => read_entries(r, EmailKey::parse, &mut c.emails)?,
                "PhoneNumbers" => read_entries(r, PhoneKey::parse, &mut c.phones)?,
                "PhysicalAddresses" => {
                    while let Some(entry) = r.next_child()? {
                        match entry.attr("Key").and_then(AddressKey::parse) {
                            Some(key) => {
                                c.addresses.insert(key, PhysicalAddress::read(r)?);
                            }
                            None => r.skip()?,
                        }
                    }
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        c.common = common;
        Ok(c)
    }
}

fn read_entries<R: BufRead, K: Ord>(
    r: &mut XmlReader<R>,
    parse_key: fn(&str) -> Option<K>,
    into: &mut BTreeMap<K, String>,
) -> Result<(), EwsError> {
    while let Some(entry) = r.next_child()? {
        match entry.attr("Key").and_then(parse_key) {
            Some(key) => {
                let value = r.read_text()?;
                if !value.is_empty() {
                    into.insert(key, value);
                }
            }
            None => r.skip()?,
        }
    }
    Ok(())
}

/// Birthdays are stored at noon UTC so that no client's time zone moves them a day.
pub(crate) fn birthday_value(date: NaiveDate) -> String {
    format!("{}T12:00:00Z", date.format("%Y-%m-%d"))
}

fn parse_birthday(text: &str) -> Option<NaiveDate> {
    // Clients store a birthday at some time of day: Exchange Online at 11:59 UTC, we at
    // noon, older Outlook at local midnight converted to UTC, which for zones east of UTC
    // lands on the evening before. A time from 13:00 on is read as the next day.
    // LIMIT: local midnight in UTC+12 to UTC+14 reads a day early; those zones are rare.
    let date = NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()?;
    let hour: u32 = text.get(11..13).and_then(|h| h.parse().ok()).unwrap_or(0);
    if hour >= 13 {
        date.succ_opt()
    } else {
        Some(date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birthdays_read_as_the_date_the_owner_entered() {
        let may17 = NaiveDate::from_ymd_opt(1984, 5, 17);
        for stored in [
            "1984-05-17T11:59:00Z",
            "1984-05-17T12:00:00Z",
            "1984-05-16T23:00:00Z",
            "1984-05-17T05:00:00Z",
            "1984-05-17",
        ] {
            assert_eq!(parse_birthday(stored), may17, "{stored}");
        }
        assert_eq!(birthday_value(may17.unwrap()), "1984-05-17T12:00:00Z");
        assert_eq!(parse_birthday("May 17"), None);
    }
}
