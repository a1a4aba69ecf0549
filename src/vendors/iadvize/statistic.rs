//! GET /statistic: the `filters[...]` of a request and the reading of its
//! answer.
//!
//! The documentation lists the filters and indicators but shows no answer,
//! so the reader accepts the shapes a PHP API plausibly gives its `data`,
//! decided by what the keys are rather than by one guessed layout:
//!
//! - **Values**: a number, a numeric string (a trailing `%` dropped), a
//!   clock length `H:MM:SS` (in seconds), or null (no value); `{"value": v}`
//!   is the same as `v`.
//! - **A block** is an object holding indicator values by indicator name,
//!   `{"contact_number": 12, "contact_duration": "95.5"}`; it may name its
//!   resource (`resource_id`, `<resource>_id`, `id`, `<resource>`,
//!   `resource`; a name in `name`, `label`, `title`, `<resource>_name`) and,
//!   with a granularity, its period (`period`, `date`, `day`, `hour`,
//!   `month`, `start`, `from`, `time`…), and may nest its values under
//!   `indicators`, `statistics`, `stats`, `values` or `data`.
//! - **Indicator entries**: `{"indicator": "contact_number", "value": 12}`
//!   (or `name` / `key` holding an indicator name, and `values`, `periods`
//!   or `data` for a series).
//! - **A series** (with a granularity): an object keyed by period,
//!   `{"2017-03-01": 12, "2017-03-02": 5}`, or a list of `[period, value]`
//!   pairs or of objects with a period key and `value`; as an indicator's
//!   value, or as the whole `data` for the one indicator asked.
//! - **Containers**: a list of blocks or entries, or an object keyed by
//!   resource id / key (or, with a granularity, by period) whose values are
//!   any of these, nested as deep as iAdvize likes.
//!
//! Blocks of the same resource are merged; a value that comes with a period
//! goes to that period. Resources keep the order they are read in (an object
//! keyed by resource is read in key order); indicators come in the order
//! asked, then by name. Any other key whose value reads as a number (or a
//! series) is kept as an indicator too, so one iAdvize adds is not lost;
//! keys that describe the request (`website_id`, `channel`, `_link`…) are
//! not. Without `resource` everything is one result; with it, a block that
//! names no resource belongs to `resource_id` when one was asked.
//! Anything else (a bare string as `data`, a list of numbers) is an
//! undocumented answer.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};

use super::wire::{Form, FormBuilder, format_date, local_time, parse_date};
use crate::{
    domain::{
        Provider,
        statistic::{
            IndicatorValue, PeriodValue, ResourceStatistics, Statistics, StatisticsQuery,
            indicator_channels,
        },
    },
    vendors::{VendorError, wire::clock_seconds},
};

/// The `filters[...]` of a statistics request, in the doc's order.
pub fn statistics_filters(query: &StatisticsQuery, tz: Tz) -> Form {
    let StatisticsQuery {
        website_list,
        channel,
        resource,
        resource_id,
        indicators,
        range,
        granularity,
    } = query;
    let list = |items: Vec<String>| (!items.is_empty()).then(|| items.join(","));
    FormBuilder::default()
        .value(
            "filters[website_list]",
            list(website_list.iter().map(i64::to_string).collect()),
        )
        .value("filters[channel]", channel.map(|c| c.as_str()))
        .value("filters[resource]", resource.map(|r| r.as_str()))
        .value("filters[resource_id]", *resource_id)
        .value("filters[indicators]", list(indicators.clone()))
        .value("filters[from]", range.from.map(|t| format_date(t, tz)))
        .value("filters[to]", range.to.map(|t| format_date(t, tz)))
        .value("filters[granularity]", granularity.map(|g| g.as_str()))
        .build()
}

/// Reads the `data` of a GET /statistic answer (see the module docs).
pub fn read_statistics(
    data: Option<&Value>,
    query: &StatisticsQuery,
    tz: Tz,
) -> Result<Statistics, VendorError> {
    let reader = Reader { query, tz };
    let mut rows = Vec::new();
    if let Some(data) = data {
        reader
            .walk(data, &Context::default(), &mut rows)
            .map_err(|what| VendorError::bad_response(Provider::Iadvize, what))?;
    }
    let mut resources: Vec<ResourceStatistics> = Vec::new();
    for row in rows {
        let resource = match (query.resource, row.resource) {
            (None, _) => Resource::default(),
            (Some(_), Some(resource)) => resource,
            (Some(_), None) => Resource {
                id: query.resource_id.unwrap_or(0),
                name: None,
            },
        };
        let index = match resources.iter().position(|r| resource.is(r)) {
            Some(index) => index,
            None => {
                resources.push(ResourceStatistics {
                    resource_id: resource.id,
                    resource_name: None,
                    indicators: Vec::new(),
                });
                resources.len() - 1
            }
        };
        let entry = &mut resources[index];
        if entry.resource_name.is_none() {
            entry.resource_name = resource.name;
        }
        for (name, value) in row.values {
            let reading = reader.read_value(value).map_err(|what| {
                VendorError::bad_response(Provider::Iadvize, format!("{name}: {what}"))
            })?;
            let indicator = match entry.indicators.iter().position(|i| i.indicator == name) {
                Some(index) => &mut entry.indicators[index],
                None => {
                    entry.indicators.push(IndicatorValue {
                        indicator: name,
                        ..Default::default()
                    });
                    let last = entry.indicators.len() - 1;
                    &mut entry.indicators[last]
                }
            };
            match (reading, &row.period) {
                (Reading::Scalar(value), Some(period)) => {
                    indicator.periods.push(reader.point(period, value));
                }
                (Reading::Scalar(value), None) => indicator.value = value,
                (Reading::Series(points), _) => indicator.periods.extend(points),
            }
        }
    }
    for resource in &mut resources {
        // JSON objects reach us with their keys sorted (serde_json keeps no
        // order), so iAdvize's own order is lost: the indicators asked come
        // in the order asked, any others after them by name.
        resource.indicators.sort_by_cached_key(|i| {
            let asked = query.indicators.iter().position(|a| *a == i.indicator);
            (asked.unwrap_or(usize::MAX), i.indicator.clone())
        });
        for indicator in &mut resource.indicators {
            // Oldest first; periods that are not dates keep their order, last.
            indicator
                .periods
                .sort_by_key(|p| (p.start.is_none(), p.start));
        }
    }
    if query.resource.is_none() && resources.is_empty() {
        resources.push(ResourceStatistics::default());
    }
    Ok(Statistics { resources })
}

/// Which resource a block belongs to.
#[derive(Debug, Clone, Default, PartialEq)]
struct Resource {
    /// 0 when the key is not a number.
    id: i64,
    name: Option<String>,
}

impl Resource {
    /// By id when there is one, else by name.
    fn is(&self, entry: &ResourceStatistics) -> bool {
        if self.id != 0 || entry.resource_id != 0 {
            self.id == entry.resource_id
        } else {
            self.name == entry.resource_name
        }
    }

    fn from_key(key: &str) -> Self {
        match key.trim().parse::<i64>() {
            Ok(id) => Resource { id, name: None },
            Err(_) => Resource {
                id: 0,
                name: Some(key.to_owned()),
            },
        }
    }
}

/// What the enclosing containers said about the values inside.
#[derive(Debug, Clone, Default)]
struct Context {
    resource: Option<Resource>,
    period: Option<String>,
}

/// Indicator values of one resource (and period).
struct Row<'v> {
    resource: Option<Resource>,
    period: Option<String>,
    values: Vec<(String, &'v Value)>,
}

enum Reading {
    Scalar(Option<f64>),
    Series(Vec<PeriodValue>),
}

/// Keys that say what a block is about, not indicator values.
const RESOURCE_ID_KEYS: &[&str] = &["resource_id", "id", "resource"];
const NAME_KEYS: &[&str] = &["resource_name", "name", "label", "title"];
const RESOURCE_NAMES: &[&str] = &[
    "operator",
    "group",
    "skill",
    "rule",
    "contact_type",
    "page_type",
];
const PERIOD_KEYS: &[&str] = &[
    "period",
    "period_start",
    "date",
    "datetime",
    "day",
    "hour",
    "month",
    "start",
    "from",
    "time",
];
const NESTED_KEYS: &[&str] = &["indicators", "statistics", "stats", "values", "data"];
const REQUEST_KEYS: &[&str] = &[
    "_link",
    "website_id",
    "website_list",
    "channel",
    "granularity",
    "currency",
    "to",
    "end",
];
const ENTRY_NAME_KEYS: &[&str] = &["indicator", "name", "key"];
const ENTRY_VALUE_KEYS: &[&str] = &["value", "values", "periods", "data"];

fn is_resource_key(key: &str) -> bool {
    RESOURCE_ID_KEYS.contains(&key)
        || NAME_KEYS.contains(&key)
        || RESOURCE_NAMES.iter().any(|resource| {
            key.strip_prefix(resource)
                .is_some_and(|rest| matches!(rest, "" | "_id" | "_name"))
        })
}

/// A number as iAdvize may write it (see the module docs).
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(text) => {
            let text = text.trim();
            let text = text.strip_suffix('%').unwrap_or(text).trim();
            text.parse::<f64>()
                .ok()
                .or_else(|| clock_seconds(text).map(|s| s as f64))
        }
        _ => None,
    }
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Object(_) | Value::Array(_))
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

struct Reader<'q> {
    query: &'q StatisticsQuery,
    tz: Tz,
}

impl Reader<'_> {
    fn granular(&self) -> bool {
        self.query.granularity.is_some()
    }

    /// A name this request asked for or the doc lists.
    fn is_indicator(&self, key: &str) -> bool {
        indicator_channels(key).is_some() || self.query.indicators.iter().any(|i| i == key)
    }

    /// The only indicator asked, which a bare series belongs to.
    fn single_indicator(&self) -> Option<&str> {
        match self.query.indicators.as_slice() {
            [one] if self.granular() => Some(one),
            _ => None,
        }
    }

    /// When `text` reads as the start of a period.
    fn period_start(&self, text: &str) -> Option<DateTime<Utc>> {
        let text = text.trim();
        if let Some(start) = parse_date(Some(text), self.tz) {
            return Some(start);
        }
        // An hour without minutes ("2017-03-01 13") is not a time to chrono.
        for candidate in [text.to_owned(), format!("{text}:00")] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(&candidate, "%Y-%m-%d %H:%M") {
                return local_time(naive, self.tz);
            }
        }
        let day = NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .or_else(|_| NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d"))
            .ok()?;
        local_time(day.and_hms_opt(0, 0, 0)?, self.tz)
    }

    fn point(&self, period: &str, value: Option<f64>) -> PeriodValue {
        PeriodValue {
            period: period.to_owned(),
            start: self.period_start(period),
            value,
        }
    }

    fn is_period_key(&self, key: &str) -> bool {
        self.granular() && self.period_start(key).is_some()
    }

    /// The period a block or a series point states about itself.
    fn own_period(&self, map: &Map<String, Value>) -> Option<String> {
        PERIOD_KEYS
            .iter()
            .find_map(|key| map.get(*key).and_then(text))
    }

    /// The resource a block names, completed by the one its container
    /// named (a block keyed by id may carry only a name).
    fn resource_of(
        &self,
        map: &Map<String, Value>,
        context: Option<&Resource>,
    ) -> Option<Resource> {
        match (self.own_resource(map), context) {
            (Some(own), Some(outer)) if own.id == 0 && outer.id != 0 => Some(Resource {
                id: outer.id,
                name: own.name.or_else(|| outer.name.clone()),
            }),
            (Some(own), _) => Some(own),
            (None, outer) => outer.cloned(),
        }
    }

    fn own_resource(&self, map: &Map<String, Value>) -> Option<Resource> {
        let asked = self.query.resource.map(|r| r.as_str());
        let own_id = asked.map(|r| format!("{r}_id"));
        let own_name = asked.map(|r| format!("{r}_name"));
        let id_keys = RESOURCE_ID_KEYS
            .iter()
            .copied()
            .chain(own_id.as_deref())
            .chain(asked);
        let mut resource: Option<Resource> = None;
        for key in id_keys {
            if let Some(value) = map.get(key).and_then(text) {
                resource = Some(Resource::from_key(&value));
                break;
            }
        }
        let name = NAME_KEYS
            .iter()
            .copied()
            .chain(own_name.as_deref())
            .find_map(|key| map.get(key).and_then(text));
        match (resource, name) {
            (Some(mut resource), Some(name)) if resource.name.is_none() => {
                resource.name = Some(name);
                Some(resource)
            }
            (None, Some(name)) => Some(Resource {
                id: 0,
                name: Some(name),
            }),
            (resource, _) => resource,
        }
    }

    /// An indicator entry's name and value, when `map` is one.
    fn entry<'v>(&self, map: &'v Map<String, Value>) -> Option<(String, &'v Value)> {
        let name = ENTRY_NAME_KEYS.iter().find_map(|key| {
            let name = map.get(*key)?.as_str()?;
            (*key == "indicator" || self.is_indicator(name)).then(|| name.to_owned())
        })?;
        let value = ENTRY_VALUE_KEYS.iter().find_map(|key| map.get(*key))?;
        Some((name, value))
    }

    /// A bare series of the one indicator asked: every key a period, every
    /// value a scalar.
    fn is_bare_series(&self, map: &Map<String, Value>) -> bool {
        self.single_indicator().is_some()
            && !map.is_empty()
            && map
                .iter()
                .all(|(key, value)| self.is_period_key(key) && is_scalar(value))
    }

    fn is_block(&self, map: &Map<String, Value>) -> bool {
        map.iter().all(|(_, value)| is_scalar(value))
            || map.keys().any(|key| {
                self.is_indicator(key)
                    || is_resource_key(key)
                    || NESTED_KEYS.contains(&key.as_str())
                    || (self.granular() && PERIOD_KEYS.contains(&key.as_str()))
            })
    }

    /// Whether an unlisted key's value reads as indicator values.
    fn reads_as_values(&self, value: &Value) -> bool {
        match value {
            Value::Null | Value::Number(_) => true,
            Value::String(_) => number(value).is_some(),
            Value::Object(map) => !map.is_empty() && map.keys().all(|key| self.is_period_key(key)),
            _ => false,
        }
    }

    fn walk<'v>(
        &self,
        value: &'v Value,
        context: &Context,
        rows: &mut Vec<Row<'v>>,
    ) -> Result<(), String> {
        match value {
            Value::Null => Ok(()),
            Value::Array(items) => {
                if let Some(indicator) = self.single_indicator()
                    && !items.is_empty()
                    && items
                        .iter()
                        .all(|item| item.as_array().is_some_and(|pair| pair.len() == 2))
                {
                    rows.push(Row {
                        resource: context.resource.clone(),
                        period: context.period.clone(),
                        values: vec![(indicator.to_owned(), value)],
                    });
                    return Ok(());
                }
                for item in items {
                    match item {
                        Value::Object(_) | Value::Null => self.walk(item, context, rows)?,
                        other => {
                            return Err(format!(
                                "a list holding {other} where indicator values were expected"
                            ));
                        }
                    }
                }
                Ok(())
            }
            Value::Object(map) => {
                if let Some((name, value)) = self.entry(map) {
                    rows.push(Row {
                        resource: context.resource.clone(),
                        period: self
                            .own_period_if_granular(map)
                            .or_else(|| context.period.clone()),
                        values: vec![(name, value)],
                    });
                    return Ok(());
                }
                if self.is_bare_series(map) {
                    let indicator = self.single_indicator().unwrap_or_default().to_owned();
                    rows.push(Row {
                        resource: context.resource.clone(),
                        period: context.period.clone(),
                        values: vec![(indicator, value)],
                    });
                    return Ok(());
                }
                if self.is_block(map) {
                    return self.block(map, context, rows);
                }
                for (key, inner) in map {
                    let mut inner_context = context.clone();
                    if self.is_period_key(key) {
                        inner_context.period = Some(key.clone());
                    } else {
                        inner_context.resource = Some(Resource::from_key(key));
                    }
                    self.walk(inner, &inner_context, rows)?;
                }
                Ok(())
            }
            other => Err(format!("data is {other}, not indicator values")),
        }
    }

    fn own_period_if_granular(&self, map: &Map<String, Value>) -> Option<String> {
        if self.granular() {
            self.own_period(map)
        } else {
            None
        }
    }

    fn block<'v>(
        &self,
        map: &'v Map<String, Value>,
        context: &Context,
        rows: &mut Vec<Row<'v>>,
    ) -> Result<(), String> {
        let context = Context {
            resource: self.resource_of(map, context.resource.as_ref()),
            period: self
                .own_period_if_granular(map)
                .or_else(|| context.period.clone()),
        };
        let mut values = Vec::new();
        for (key, value) in map {
            if NESTED_KEYS.contains(&key.as_str()) && !is_scalar(value) {
                self.walk(value, &context, rows)?;
                continue;
            }
            let described = is_resource_key(key)
                || PERIOD_KEYS.contains(&key.as_str())
                || REQUEST_KEYS.contains(&key.as_str());
            if self.is_indicator(key) || (!described && self.reads_as_values(value)) {
                values.push((key.clone(), value));
            }
        }
        if !values.is_empty() {
            rows.push(Row {
                resource: context.resource,
                period: context.period,
                values,
            });
        }
        Ok(())
    }

    /// An indicator's value: one number, or a series.
    fn read_value(&self, value: &Value) -> Result<Reading, String> {
        match value {
            Value::Object(map) => {
                if let Some(inner) = map.get("value")
                    && self.own_period(map).is_none()
                {
                    return self.read_value(inner);
                }
                if let Some(point) = self.series_point(value)? {
                    return Ok(Reading::Series(vec![point]));
                }
                let mut points = Vec::with_capacity(map.len());
                for (period, inner) in map {
                    points.push(self.point(period, self.scalar(inner)?));
                }
                Ok(Reading::Series(points))
            }
            Value::Array(items) => {
                let mut points = Vec::with_capacity(items.len());
                for item in items {
                    match self.series_point(item)? {
                        Some(point) => points.push(point),
                        None => return Err(format!("{item} is not a [period, value] point")),
                    }
                }
                Ok(Reading::Series(points))
            }
            scalar => Ok(Reading::Scalar(number(scalar))),
        }
    }

    /// `[period, value]` or `{"date": period, "value": value}`.
    fn series_point(&self, item: &Value) -> Result<Option<PeriodValue>, String> {
        match item {
            Value::Array(pair) => match pair.as_slice() {
                [period, value] => match text(period) {
                    Some(period) => Ok(Some(self.point(&period, self.scalar(value)?))),
                    None => Ok(None),
                },
                _ => Ok(None),
            },
            Value::Object(map) => match (self.own_period(map), map.get("value")) {
                (Some(period), Some(value)) => Ok(Some(self.point(&period, self.scalar(value)?))),
                _ => Ok(None),
            },
            _ => Ok(None),
        }
    }

    fn scalar(&self, value: &Value) -> Result<Option<f64>, String> {
        match value {
            Value::Object(map) if map.contains_key("value") => {
                self.scalar(map.get("value").unwrap_or(&Value::Null))
            }
            Value::Object(_) | Value::Array(_) => {
                Err(format!("{value} where a number was expected"))
            }
            scalar => Ok(number(scalar)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{
        TimeRange,
        statistic::{Granularity, StatisticChannel, StatisticResource},
    };

    fn query(
        indicators: &[&str],
        resource: Option<StatisticResource>,
        granularity: Option<Granularity>,
    ) -> StatisticsQuery {
        StatisticsQuery {
            indicators: indicators.iter().map(|i| i.to_string()).collect(),
            resource,
            granularity,
            ..Default::default()
        }
    }

    fn read(data: Value, query: &StatisticsQuery) -> Vec<ResourceStatistics> {
        read_statistics(Some(&data), query, chrono_tz::UTC)
            .unwrap()
            .resources
    }

    fn value(name: &str, value: Option<f64>) -> IndicatorValue {
        IndicatorValue {
            indicator: name.into(),
            value,
            periods: Vec::new(),
        }
    }

    fn overall(indicators: Vec<IndicatorValue>) -> Vec<ResourceStatistics> {
        vec![ResourceStatistics {
            resource_id: 0,
            resource_name: None,
            indicators,
        }]
    }

    fn day(date: &str, value: Option<f64>) -> PeriodValue {
        PeriodValue {
            period: date.into(),
            start: parse_date(Some(&format!("{date} 00:00:00")), chrono_tz::UTC),
            value,
        }
    }

    #[test]
    fn filters_are_sent_in_the_doc_spelling() {
        let tz = chrono_tz::Europe::Paris;
        let from = parse_date(Some("2017-03-01 00:00:00"), tz);
        let to = parse_date(Some("2017-03-31 23:59:59"), tz);
        let query = StatisticsQuery {
            website_list: vec![24, 32, 123],
            channel: Some(StatisticChannel::FacebookBusinessOnMessenger),
            resource: Some(StatisticResource::ContactType),
            resource_id: Some(32),
            indicators: vec!["contact_number".into()],
            range: TimeRange::new(from, to).unwrap(),
            granularity: Some(Granularity::Month),
        };
        assert_eq!(
            statistics_filters(&query, tz),
            [
                ("filters[website_list]", "24,32,123"),
                ("filters[channel]", "facebookBusinessOnMessenger"),
                ("filters[resource]", "contact_type"),
                ("filters[resource_id]", "32"),
                ("filters[indicators]", "contact_number"),
                ("filters[from]", "2017-03-01 00:00:00"),
                ("filters[to]", "2017-03-31 23:59:59"),
                ("filters[granularity]", "month"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert!(statistics_filters(&StatisticsQuery::default(), tz).is_empty());
    }

    #[test]
    fn one_block_of_values_in_every_spelling() {
        let q = query(&["contact_number", "contact_duration"], None, None);
        let expected = overall(vec![
            value("contact_number", Some(12.0)),
            value("contact_duration", Some(95.0)),
        ]);
        for data in [
            json!({"contact_number": 12, "contact_duration": "95"}),
            json!([{"contact_number": "12", "contact_duration": 95.0}]),
            json!({"contact_number": {"value": 12}, "contact_duration": "0:01:35"}),
            json!([{"indicator": "contact_number", "value": 12}, {"name": "contact_duration", "value": "95"}]),
            json!({"indicators": {"contact_number": 12, "contact_duration": 95}, "website_id": 3, "channel": "chat"}),
        ] {
            assert_eq!(read(data.clone(), &q), expected, "{data}");
        }
        // Nulls are no value; an indicator iAdvize added is kept; a rate in %.
        assert_eq!(
            read(
                json!({"conversion_rate": "12.5%", "contact_number": null, "new_thing_number": 4, "_link": "/statistic"}),
                &query(&[], None, None)
            ),
            overall(vec![
                value("contact_number", None),
                value("conversion_rate", Some(12.5)),
                value("new_thing_number", Some(4.0)),
            ])
        );
        // Nothing at all is still one (empty) result.
        assert_eq!(read(json!([]), &q), overall(vec![]));
        assert_eq!(
            read_statistics(None, &q, chrono_tz::UTC).unwrap().resources,
            overall(vec![])
        );
    }

    #[test]
    fn grouped_by_resource_as_a_list_or_keyed_by_id() {
        let q = query(&["contact_number"], Some(StatisticResource::Operator), None);
        let expected = vec![
            ResourceStatistics {
                resource_id: 123,
                resource_name: Some("Julie".into()),
                indicators: vec![value("contact_number", Some(12.0))],
            },
            ResourceStatistics {
                resource_id: 456,
                resource_name: None,
                indicators: vec![value("contact_number", Some(3.0))],
            },
        ];
        for data in [
            json!([{"id": 123, "name": "Julie", "contact_number": 12}, {"id": "456", "contact_number": 3}]),
            json!([{"operator_id": 123, "operator_name": "Julie", "contact_number": 12}, {"operator": 456, "contact_number": 3}]),
            json!({"123": {"name": "Julie", "contact_number": 12}, "456": {"contact_number": 3}}),
            json!([{"resource_id": 123, "label": "Julie", "indicators": [{"indicator": "contact_number", "value": 12}]},
                   {"resource_id": 456, "values": {"contact_number": 3}}]),
        ] {
            assert_eq!(read(data.clone(), &q), expected, "{data}");
        }
        // Contact types are keyed by name.
        let q = query(
            &["contact_number"],
            Some(StatisticResource::ContactType),
            None,
        );
        assert_eq!(
            read(
                json!({"chat": {"contact_number": 7}, "call": {"contact_number": 2}}),
                &q
            ),
            // An object's keys are read in order.
            [("call", 2.0), ("chat", 7.0)].map(|(name, n)| ResourceStatistics {
                resource_id: 0,
                resource_name: Some(name.into()),
                indicators: vec![value("contact_number", Some(n))],
            })
        );
        assert_eq!(
            read(json!([{"contact_type": "chat", "contact_number": 7}]), &q)[0]
                .resource_name
                .as_deref(),
            Some("chat")
        );
        // One resource asked by id, answered without naming it.
        let mut q = query(&["contact_number"], Some(StatisticResource::Skill), None);
        q.resource_id = Some(32);
        assert_eq!(read(json!({"contact_number": 5}), &q)[0].resource_id, 32);
    }

    #[test]
    fn series_per_period_oldest_first() {
        let q = query(&["contact_number"], None, Some(Granularity::Day));
        let expected = overall(vec![IndicatorValue {
            indicator: "contact_number".into(),
            value: None,
            periods: vec![day("2017-03-01", Some(12.0)), day("2017-03-02", Some(5.0))],
        }]);
        for data in [
            json!({"contact_number": {"2017-03-02": 5, "2017-03-01": 12}}),
            json!({"2017-03-01": 12, "2017-03-02": "5"}),
            json!({"contact_number": [["2017-03-01", 12], ["2017-03-02", 5]]}),
            json!([["2017-03-01", 12], ["2017-03-02", 5]]),
            json!({"contact_number": [{"date": "2017-03-01", "value": 12}, {"date": "2017-03-02", "value": 5}]}),
            json!([{"date": "2017-03-02", "contact_number": 5}, {"date": "2017-03-01", "contact_number": 12}]),
            json!({"2017-03-01": {"contact_number": 12}, "2017-03-02": {"contact_number": 5}}),
            json!([{"indicator": "contact_number", "values": {"2017-03-01": 12, "2017-03-02": 5}}]),
        ] {
            assert_eq!(read(data.clone(), &q), expected, "{data}");
        }
        // Hours and months; a period that is no date is kept as written.
        let q = query(&["contact_number"], None, Some(Granularity::Hour));
        let periods = &read(
            json!({"contact_number": {"week 9": 1, "2017-03-01 13": 2, "2017-03-01 12:00:00": 3}}),
            &q,
        )[0]
        .indicators[0]
            .periods;
        let labels: Vec<_> = periods.iter().map(|p| p.period.as_str()).collect();
        assert_eq!(labels, ["2017-03-01 12:00:00", "2017-03-01 13", "week 9"]);
        assert_eq!(
            periods[1].start.unwrap().to_rfc3339(),
            "2017-03-01T13:00:00+00:00"
        );
        assert_eq!(periods[2].start, None);
        let q = query(&["contact_number"], None, Some(Granularity::Month));
        let periods =
            &read(json!({"contact_number": {"2017-03": 40}}), &q)[0].indicators[0].periods;
        assert_eq!(
            periods[0].start.unwrap().to_rfc3339(),
            "2017-03-01T00:00:00+00:00"
        );
    }

    #[test]
    fn series_per_resource_are_merged() {
        let q = query(
            &["contact_number"],
            Some(StatisticResource::Operator),
            Some(Granularity::Day),
        );
        let data = json!([
            {"id": 123, "date": "2017-03-01", "contact_number": 12},
            {"id": 456, "date": "2017-03-01", "contact_number": 1},
            {"id": 123, "date": "2017-03-02", "contact_number": 5},
        ]);
        let resources = read(data, &q);
        assert_eq!(resources.len(), 2);
        assert_eq!(
            resources[0].indicators[0].periods,
            [day("2017-03-01", Some(12.0)), day("2017-03-02", Some(5.0))]
        );
        let keyed = read(
            json!({"123": {"contact_number": {"2017-03-01": 12, "2017-03-02": 5}}, "456": {"contact_number": {"2017-03-01": 1}}}),
            &q,
        );
        assert_eq!(keyed, resources);
    }

    #[test]
    fn other_shapes_are_undocumented_answers() {
        let q = query(&["contact_number"], None, None);
        for data in [
            json!("oops"),
            json!([1, 2]),
            json!({"contact_number": [1, 2]}),
            json!({"contact_number": {"a": [1]}}),
        ] {
            let error = read_statistics(Some(&data), &q, chrono_tz::UTC).unwrap_err();
            assert_eq!(
                error.kind,
                crate::vendors::VendorErrorKind::BadResponse,
                "{data}"
            );
        }
    }
}
