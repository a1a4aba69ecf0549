//! The iAdvize account resources, as documented: clients and websites
//! (AgentsService), tags and visitors (StatsService). A trait of its own, as
//! for the reports: the availability pollers need none of it. The wire
//! types stay in this module; callers see domain values only.

use async_trait::async_trait;
use chrono_tz::Tz;
use reqwest::Method;
use serde::{Deserialize, Deserializer};

use super::{
    Body, IadvizeClient, Listed, PageRequest,
    wire::{Form, FormBuilder, parse_date},
};
use crate::{
    domain::website::{
        Client, NewTag, Tag, Visitor, VisitorFields, VisitorFilter, Website, WebsiteFields,
    },
    vendors::{
        VendorError,
        wire::{int_or_string, opt_int_or_string, opt_loose_bool, opt_text},
    },
};

#[async_trait]
pub trait IadvizeResources: Send + Sync {
    async fn list_clients(&self, page: PageRequest) -> Result<Listed<Client>, VendorError>;
    async fn get_client(&self, id: i64) -> Result<Client, VendorError>;
    async fn list_websites(&self, page: PageRequest) -> Result<Listed<Website>, VendorError>;
    async fn get_website(&self, id: i64) -> Result<Website, VendorError>;
    async fn update_website(&self, id: i64, fields: &WebsiteFields)
    -> Result<Website, VendorError>;
    async fn list_tags(
        &self,
        website_id: Option<i64>,
        page: PageRequest,
    ) -> Result<Listed<Tag>, VendorError>;
    async fn get_tag(&self, id: i64) -> Result<Tag, VendorError>;
    async fn create_tags(&self, tags: &[NewTag]) -> Result<Vec<Tag>, VendorError>;
    async fn list_visitors(
        &self,
        filter: &VisitorFilter,
        page: PageRequest,
    ) -> Result<Listed<Visitor>, VendorError>;
    async fn get_visitor(&self, id: i64) -> Result<Visitor, VendorError>;
    async fn create_visitor(&self, fields: &VisitorFields) -> Result<Visitor, VendorError>;
    async fn update_visitor(&self, id: i64, fields: &VisitorFields)
    -> Result<Visitor, VendorError>;
    async fn delete_visitor(&self, id: i64) -> Result<(), VendorError>;
}

// ---- wire ----

/// `/client`, `/client/{id}`.
#[derive(Debug, Deserialize)]
pub(super) struct WireClient {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_text")]
    pub lang: Option<String>,
    #[serde(default, deserialize_with = "opt_loose_bool")]
    pub premium_enabled: Option<bool>,
}

/// `/website`, `/website/{id}`.
#[derive(Debug, Deserialize)]
pub(super) struct WireWebsite {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_text")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub label: Option<String>,
    #[serde(default, deserialize_with = "opt_int_or_string")]
    pub client_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_text")]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub language_admin: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub timezone: Option<String>,
}

/// `/tag`, `/tag/{id}`.
#[derive(Debug, Deserialize)]
pub(super) struct WireTag {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "one_or_many_ids")]
    pub website_id: Vec<i64>,
}

/// `/visitor`, `/visitor/{id}`.
#[derive(Debug, Deserialize)]
pub(super) struct WireVisitor {
    #[serde(deserialize_with = "int_or_string")]
    pub id: i64,
    #[serde(default, deserialize_with = "opt_text")]
    pub unique_id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub external_id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub lastname: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub firstname: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub address: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub city: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub zip: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub country: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub phone: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    pub browser: Option<String>,
    #[serde(default, deserialize_with = "one_or_many_ids")]
    pub website_id: Vec<i64>,
    #[serde(default, deserialize_with = "opt_text")]
    pub created_at: Option<String>,
}

/// A `website_id` the doc's fields call a "List of integers" while its tag
/// example writes one id: either is read, numbers or numeric strings, and
/// null, 0 or absent is none.
fn one_or_many_ids<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Ids {
        Many(Vec<Id>),
        One(Id),
    }
    #[derive(Deserialize)]
    struct Id(#[serde(deserialize_with = "int_or_string")] i64);
    let ids = match Option::<Ids>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(Ids::One(Id(id))) => vec![id],
        Some(Ids::Many(ids)) => ids.into_iter().map(|Id(id)| id).collect(),
    };
    Ok(ids.into_iter().filter(|id| *id > 0).collect())
}

/// iAdvize writes "none" as null or 0 for its ids.
fn some_id(id: Option<i64>) -> Option<i64> {
    id.filter(|id| *id > 0)
}

impl WireClient {
    fn into_domain(self) -> Client {
        Client {
            id: self.id,
            lang: self.lang,
            premium_enabled: self.premium_enabled,
        }
    }
}

impl WireWebsite {
    fn into_domain(self) -> Website {
        Website {
            id: self.id,
            url: self.url,
            label: self.label,
            client_id: some_id(self.client_id),
            currency: self.currency,
            language_admin: self.language_admin,
            timezone: self.timezone,
        }
    }
}

impl WireTag {
    fn into_domain(self) -> Tag {
        Tag {
            id: self.id,
            name: self.name,
            website_ids: self.website_id,
        }
    }
}

impl WireVisitor {
    fn into_domain(self, tz: Tz) -> Visitor {
        Visitor {
            id: self.id,
            unique_id: self.unique_id,
            external_id: self.external_id,
            lastname: self.lastname,
            firstname: self.firstname,
            address: self.address,
            city: self.city,
            zip: self.zip,
            country: self.country,
            phone: self.phone,
            email: self.email,
            browser: self.browser,
            website_ids: self.website_id,
            created_at: parse_date(self.created_at.as_deref(), tz),
        }
    }
}

/// The website fields to PUT, form-encoded like every iAdvize write.
pub(super) fn website_form(fields: &WebsiteFields) -> Form {
    let WebsiteFields {
        url,
        label,
        client_id,
        currency,
        language_admin,
        timezone,
    } = fields;
    FormBuilder::default()
        .value("url", url.as_ref())
        .value("label", label.as_ref())
        .value("client_id", *client_id)
        .value("currency", currency.as_ref())
        .value("language_admin", language_admin.map(|l| l.as_str()))
        .value("timezone", timezone.as_ref())
        .build()
}

/// The visitor fields to POST / PUT, in the doc's order; the website list
/// the PHP way (`website_id[]=1&website_id[]=2`, an empty list `website_id=`).
pub(super) fn visitor_form(fields: &VisitorFields) -> Form {
    let VisitorFields {
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
    } = fields;
    FormBuilder::default()
        .value("unique_id", unique_id.as_ref())
        .value("external_id", external_id.as_ref())
        .value("lastname", lastname.as_ref())
        .value("firstname", firstname.as_ref())
        .value("address", address.as_ref())
        .value("city", city.as_ref())
        .value("zip", zip.as_ref())
        .value("country", country.as_ref())
        .value("phone", phone.as_ref())
        .value("email", email.as_ref())
        .value("browser", browser.as_ref())
        .list("website_id", website_ids.as_deref())
        .build()
}

/// The `filters[...]` of the visitor list, in the doc's order.
pub(super) fn visitor_filters(filter: &VisitorFilter) -> Form {
    let VisitorFilter {
        unique_id,
        external_id,
        website_id,
    } = filter;
    FormBuilder::default()
        .value("filters[unique_id]", unique_id.as_ref())
        .value("filters[external_id]", external_id.as_ref())
        .value("filters[website_id]", *website_id)
        .build()
}

/// `POST /tag`'s body: "an array of object as application/json".
pub(super) fn tags_body(tags: &[NewTag]) -> serde_json::Value {
    serde_json::Value::Array(
        tags.iter()
            .map(|tag| serde_json::json!({ "name": tag.name, "website_id": tag.website_id }))
            .collect(),
    )
}

/// Lists are asked with every field (`full=1`), as for the other resources.
fn full() -> Form {
    vec![("full".to_owned(), "1".to_owned())]
}

#[async_trait]
impl IadvizeResources for IadvizeClient {
    async fn list_clients(&self, page: PageRequest) -> Result<Listed<Client>, VendorError> {
        self.list("client", full(), page, WireClient::into_domain)
            .await
    }

    async fn get_client(&self, id: i64) -> Result<Client, VendorError> {
        let client: WireClient = self.get(&format!("client/{id}"), &[]).await?;
        Ok(client.into_domain())
    }

    async fn list_websites(&self, page: PageRequest) -> Result<Listed<Website>, VendorError> {
        self.list("website", full(), page, WireWebsite::into_domain)
            .await
    }

    async fn get_website(&self, id: i64) -> Result<Website, VendorError> {
        let website: WireWebsite = self.get(&format!("website/{id}"), &[]).await?;
        Ok(website.into_domain())
    }

    async fn update_website(
        &self,
        id: i64,
        fields: &WebsiteFields,
    ) -> Result<Website, VendorError> {
        let website: WireWebsite = self
            .send(Method::PUT, &format!("website/{id}"), &website_form(fields))
            .await?;
        Ok(website.into_domain())
    }

    async fn list_tags(
        &self,
        website_id: Option<i64>,
        page: PageRequest,
    ) -> Result<Listed<Tag>, VendorError> {
        let mut query = FormBuilder::default()
            .value("filters[website_id]", website_id)
            .build();
        query.extend(full());
        self.list("tag", query, page, WireTag::into_domain).await
    }

    async fn get_tag(&self, id: i64) -> Result<Tag, VendorError> {
        let tag: WireTag = self.get(&format!("tag/{id}"), &[]).await?;
        Ok(tag.into_domain())
    }

    async fn create_tags(&self, tags: &[NewTag]) -> Result<Vec<Tag>, VendorError> {
        let body = tags_body(tags);
        let answer = self
            .call(Method::POST, "tag", &[], Some(Body::Json(&body)))
            .await?;
        let created: Vec<WireTag> = super::data(answer.data)?;
        Ok(created.into_iter().map(WireTag::into_domain).collect())
    }

    async fn list_visitors(
        &self,
        filter: &VisitorFilter,
        page: PageRequest,
    ) -> Result<Listed<Visitor>, VendorError> {
        let mut query = visitor_filters(filter);
        query.extend(full());
        self.list("visitor", query, page, |v: WireVisitor| {
            v.into_domain(self.timezone)
        })
        .await
    }

    async fn get_visitor(&self, id: i64) -> Result<Visitor, VendorError> {
        let visitor: WireVisitor = self.get(&format!("visitor/{id}"), &[]).await?;
        Ok(visitor.into_domain(self.timezone))
    }

    async fn create_visitor(&self, fields: &VisitorFields) -> Result<Visitor, VendorError> {
        let visitor: WireVisitor = self
            .send(Method::POST, "visitor", &visitor_form(fields))
            .await?;
        Ok(visitor.into_domain(self.timezone))
    }

    async fn update_visitor(
        &self,
        id: i64,
        fields: &VisitorFields,
    ) -> Result<Visitor, VendorError> {
        let visitor: WireVisitor = self
            .send(Method::PUT, &format!("visitor/{id}"), &visitor_form(fields))
            .await?;
        Ok(visitor.into_domain(self.timezone))
    }

    async fn delete_visitor(&self, id: i64) -> Result<(), VendorError> {
        self.delete(&format!("visitor/{id}")).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tags_read_one_website_or_a_list_and_are_created_as_a_json_array() {
        let one: WireTag =
            serde_json::from_value(json!({"id": 123, "name": "my_value", "website_id": 1}))
                .unwrap();
        assert_eq!(one.into_domain().website_ids, [1]);
        let many: WireTag =
            serde_json::from_value(json!({"id": "124", "website_id": ["1", 2, 0]})).unwrap();
        assert_eq!(many.into_domain().website_ids, [1, 2]);
        let none: WireTag = serde_json::from_value(json!({"id": 125, "website_id": null})).unwrap();
        assert!(none.into_domain().website_ids.is_empty());
        let body = tags_body(&[NewTag {
            name: "my_value".into(),
            website_id: 1,
        }]);
        assert_eq!(body, json!([{"name": "my_value", "website_id": 1}]));
    }

    #[test]
    fn visitors_are_read_and_written_as_documented() {
        let visitor: WireVisitor = serde_json::from_value(json!({
            "id": 560, "unique_id": "abc", "zip": 44000, "website_id": [1, 2],
            "created_at": "2016-02-16 11:24:21"
        }))
        .unwrap();
        let visitor = visitor.into_domain(chrono_tz::Europe::Paris);
        assert_eq!(visitor.zip.as_deref(), Some("44000"));
        assert_eq!(visitor.website_ids, [1, 2]);
        assert_eq!(
            visitor.created_at.unwrap().to_rfc3339(),
            "2016-02-16T10:24:21+00:00"
        );
        let form = visitor_form(&VisitorFields {
            lastname: Some("Doe".into()),
            email: Some(String::new()),
            website_ids: Some(vec![1, 2]),
            ..Default::default()
        });
        assert_eq!(
            form,
            [
                ("lastname", "Doe"),
                ("email", ""),
                ("website_id[]", "1"),
                ("website_id[]", "2"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
    }
}
