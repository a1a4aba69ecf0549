//! The iAdvize tags and visitors of StatsService, request side and answer
//! side: filters, the tags to create, the visitor fields of a create or an
//! update mask, checked into domain values; domain values back into proto.

use crate::{
    domain::{
        EmailAddress, FieldViolation, PhoneNumber, Violations,
        operator::{id_list, optional_id, optional_text, required_id, required_text},
        website::{NewTag, Tag, Visitor, VisitorFields, VisitorFilter},
    },
    pb::{self, v1 as proto},
};

/// The most tags one CreateTags sends (one iAdvize request).
pub const MAX_NEW_TAGS: usize = 100;

pub fn visitor_filter(
    violations: &mut Violations,
    request: &proto::ListVisitorsRequest,
) -> Option<VisitorFilter> {
    let unique_id = violations.check(optional_text("unique_id", &request.unique_id));
    let external_id = violations.check(optional_text("external_id", &request.external_id));
    let website_id = violations.check(optional_id("website_id", request.website_id));
    Some(VisitorFilter {
        unique_id: unique_id?,
        external_id: external_id?,
        website_id: website_id?,
    })
}

pub fn new_tags(violations: &mut Violations, tags: &[proto::NewTag]) -> Option<Vec<NewTag>> {
    if tags.is_empty() {
        violations.push(FieldViolation::new(
            "tags",
            format!("is required: 1 to {MAX_NEW_TAGS} tags, each with a name and a website_id"),
        ));
        return None;
    }
    if tags.len() > MAX_NEW_TAGS {
        violations.push(FieldViolation::new(
            "tags",
            format!("holds {} tags, more than {MAX_NEW_TAGS}", tags.len()),
        ));
        return None;
    }
    let mut parsed = Vec::with_capacity(tags.len());
    let mut failed = false;
    for (index, tag) in tags.iter().enumerate() {
        let name = violations.check(required_text(&format!("tags[{index}].name"), &tag.name));
        let website_id = violations.check(required_id(
            &format!("tags[{index}].website_id"),
            tag.website_id,
        ));
        match (name, website_id) {
            (Some(name), Some(website_id)) => parsed.push(NewTag { name, website_id }),
            _ => failed = true,
        }
    }
    (!failed).then_some(parsed)
}

/// The Visitor fields an update mask may name (all but `id` and the
/// output-only `created_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitorField {
    UniqueId,
    ExternalId,
    Lastname,
    Firstname,
    Address,
    City,
    Zip,
    Country,
    Phone,
    Email,
    Browser,
    WebsiteIds,
}

impl VisitorField {
    pub const NAMES: &[(&str, VisitorField)] = &[
        ("unique_id", VisitorField::UniqueId),
        ("external_id", VisitorField::ExternalId),
        ("lastname", VisitorField::Lastname),
        ("firstname", VisitorField::Firstname),
        ("address", VisitorField::Address),
        ("city", VisitorField::City),
        ("zip", VisitorField::Zip),
        ("country", VisitorField::Country),
        ("phone", VisitorField::Phone),
        ("email", VisitorField::Email),
        ("browser", VisitorField::Browser),
        ("website_ids", VisitorField::WebsiteIds),
    ];
}

/// Free text: trimmed, may be empty (an update clears it).
fn text(field: &str, value: &str) -> Result<String, FieldViolation> {
    optional_text(field, value).map(Option::unwrap_or_default)
}

/// The visitor fields to send: on a create (`masked` = None) the non-empty
/// ones, on an update exactly the masked ones, whatever their value.
pub fn visitor_fields(
    violations: &mut Violations,
    visitor: &proto::Visitor,
    masked: Option<&[VisitorField]>,
) -> Option<VisitorFields> {
    let proto::Visitor {
        id: _,
        unique_id,
        external_id,
        lastname,
        firstname,
        address,
        city,
        zip,
        country,
        phone,
        email,
        browser,
        website_ids,
        created_at: _,
    } = visitor;
    let mut failed = false;
    let wants = |field: VisitorField, is_set: bool| masked.map_or(is_set, |m| m.contains(&field));
    let mut free_text = |field: VisitorField, name: &str, value: &str| {
        if !wants(field, !value.trim().is_empty()) {
            return None;
        }
        let parsed = violations.check(text(&format!("visitor.{name}"), value));
        failed |= parsed.is_none();
        parsed
    };
    let unique_id = free_text(VisitorField::UniqueId, "unique_id", unique_id);
    let external_id = free_text(VisitorField::ExternalId, "external_id", external_id);
    let lastname = free_text(VisitorField::Lastname, "lastname", lastname);
    let firstname = free_text(VisitorField::Firstname, "firstname", firstname);
    let address = free_text(VisitorField::Address, "address", address);
    let city = free_text(VisitorField::City, "city", city);
    let zip = free_text(VisitorField::Zip, "zip", zip);
    let country = free_text(VisitorField::Country, "country", country);
    let browser = free_text(VisitorField::Browser, "browser", browser);
    // A phone or an email, when not cleared, must be one; it is sent as
    // typed (trimmed), which is what the visitor gave.
    let phone = if wants(VisitorField::Phone, !phone.trim().is_empty()) {
        let parsed = violations
            .check(PhoneNumber::parse_optional("visitor.phone", phone))
            .map(|number| number.map(|n| n.as_str().to_owned()).unwrap_or_default());
        failed |= parsed.is_none();
        parsed
    } else {
        None
    };
    let email = if wants(VisitorField::Email, !email.trim().is_empty()) {
        let parsed = if email.trim().is_empty() {
            Some(String::new())
        } else {
            violations
                .check(EmailAddress::parse("visitor.email", email))
                .map(|e| e.as_str().to_owned())
        };
        failed |= parsed.is_none();
        parsed
    } else {
        None
    };
    let website_ids = if wants(VisitorField::WebsiteIds, !website_ids.is_empty()) {
        let parsed = violations.check(id_list("visitor.website_ids", website_ids));
        failed |= parsed.is_none();
        parsed
    } else {
        None
    };
    (!failed).then_some(VisitorFields {
        unique_id,
        external_id,
        lastname,
        firstname,
        address,
        city,
        zip,
        country,
        phone,
        email,
        browser,
        website_ids,
    })
}

pub fn tag(value: Tag) -> proto::Tag {
    let Tag {
        id,
        name,
        website_ids,
    } = value;
    proto::Tag {
        id,
        name: name.unwrap_or_default(),
        website_ids,
    }
}

pub fn visitor(value: Visitor) -> proto::Visitor {
    let Visitor {
        id,
        unique_id,
        external_id,
        lastname,
        firstname,
        address,
        city,
        zip,
        country,
        phone,
        email,
        browser,
        website_ids,
        created_at,
    } = value;
    proto::Visitor {
        id,
        unique_id: unique_id.unwrap_or_default(),
        external_id: external_id.unwrap_or_default(),
        lastname: lastname.unwrap_or_default(),
        firstname: firstname.unwrap_or_default(),
        address: address.unwrap_or_default(),
        city: city.unwrap_or_default(),
        zip: zip.unwrap_or_default(),
        country: country.unwrap_or_default(),
        phone: phone.unwrap_or_default(),
        email: email.unwrap_or_default(),
        browser: browser.unwrap_or_default(),
        website_ids,
        created_at: pb::opt_timestamp(created_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(violations: Violations) -> Vec<String> {
        violations
            .into_result()
            .err()
            .map(|invalid| invalid.0)
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.field)
            .collect()
    }

    #[test]
    fn tags_to_create_are_each_checked_and_named_by_index() {
        let mut violations = Violations::new();
        let tags = [
            proto::NewTag {
                name: "vip".into(),
                website_id: 1,
            },
            proto::NewTag {
                name: " ".into(),
                website_id: -2,
            },
        ];
        assert_eq!(new_tags(&mut violations, &tags), None);
        assert_eq!(fields(violations), ["tags[1].name", "tags[1].website_id"]);
        let mut violations = Violations::new();
        assert_eq!(new_tags(&mut violations, &[]), None);
        assert_eq!(fields(violations), ["tags"]);
    }

    #[test]
    fn a_visitor_update_sends_exactly_the_masked_fields() {
        let mut violations = Violations::new();
        let visitor = proto::Visitor {
            lastname: "Doe".into(),
            city: "Nantes".into(),
            ..Default::default()
        };
        let mask = [VisitorField::City, VisitorField::Email];
        let sent = visitor_fields(&mut violations, &visitor, Some(&mask)).unwrap();
        assert_eq!(sent.city.as_deref(), Some("Nantes"));
        assert_eq!(sent.email.as_deref(), Some(""), "cleared");
        assert_eq!(sent.lastname, None, "not masked");
        let bad = proto::Visitor {
            email: "not-an-email".into(),
            phone: "call me".into(),
            website_ids: vec![0],
            ..Default::default()
        };
        let mut violations = Violations::new();
        assert_eq!(visitor_fields(&mut violations, &bad, None), None);
        assert_eq!(
            fields(violations),
            ["visitor.phone", "visitor.email", "visitor.website_ids[0]"]
        );
    }
}
