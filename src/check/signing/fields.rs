//! The signature fields (`Signature-Input`, `Signature`, `Content-Digest`), read from the
//! headers and parsed as RFC 8941 dictionaries.
//!
//! `Signature-Input` and `Signature` are parsed with `sfv`'s visitor, keeping only the members
//! of the labels the check reads and borrowing their strings and keys from the field: the
//! other members are parsed (a malformed field is refused whole) and dropped, and nothing is
//! copied that the check does not need.

use std::borrow::Cow;

use http::HeaderName;
use sfv::visitor::{
    DictionaryVisitor, EntryVisitor, Ignored, InnerListVisitor, ItemVisitor, ParameterVisitor,
};
use sfv::{BareItemFromInput, Dictionary, KeyRef, Parser};

use crate::check::error::ApproovErrorKind;
use crate::check::request::HeaderSource;

/// The most bytes a signature header (`Signature-Input`, `Signature`, `Content-Digest`, all its
/// lines together) may hold. The SDKs send a few hundred; a larger field is refused before it
/// is parsed, so that one request costs at most the verifications the base forms allow.
pub(crate) const MAX_FIELD_BYTES: usize = 4096;

/// Every line of a header as one field (RFC 9110: lines joined with `, `), borrowed when there
/// is one line, `None` when there is none; a field over [`MAX_FIELD_BYTES`] is refused before
/// it is read.
pub(crate) fn field_bytes<'h, H: HeaderSource + ?Sized>(
    headers: &'h H,
    name: &'h HeaderName,
) -> Result<Option<Cow<'h, [u8]>>, ApproovErrorKind> {
    let mut values = headers.header_values(name);
    match (values.next(), values.next()) {
        (None, _) => return Ok(None),
        // The usual case, one line: read where it lies.
        (Some(value), None) if value.len() > MAX_FIELD_BYTES => {
            return Err(ApproovErrorKind::SignatureMalformed);
        }
        (Some(value), None) => return Ok(Some(Cow::Borrowed(value))),
        (Some(_), Some(_)) => {}
    }
    let mut joined = Vec::new();
    for (i, value) in headers.header_values(name).enumerate() {
        if i > 0 {
            joined.extend_from_slice(b", ");
        }
        if joined.len() + value.len() > MAX_FIELD_BYTES {
            return Err(ApproovErrorKind::SignatureMalformed);
        }
        joined.extend_from_slice(value);
    }
    Ok(Some(Cow::Owned(joined)))
}

/// Parses a whole dictionary header (`Content-Digest`), every line of it as one field.
pub(crate) fn parse_dictionary<H: HeaderSource + ?Sized>(
    headers: &H,
    name: &HeaderName,
) -> Result<Dictionary, ApproovErrorKind> {
    Parser::new(&field_bytes(headers, name)?.unwrap_or_default())
        .parse::<Dictionary>()
        .map_err(|_| ApproovErrorKind::SignatureMalformed)
}

/// A signature's covered components and parameters (one member of `Signature-Input`),
/// borrowed from the field.
#[derive(Debug, Default)]
pub(crate) struct Covered<'f> {
    /// Each component, and whether it had parameters (which no supported component has).
    pub(crate) items: Vec<(BareItemFromInput<'f>, bool)>,
    /// The signature parameters, in the order first given; a repeated key keeps its first
    /// place and its last value, as RFC 8941 reads parameters.
    pub(crate) params: Vec<(&'f KeyRef, BareItemFromInput<'f>)>,
}

impl Covered<'_> {
    /// The parameter `name`, if given.
    pub(crate) fn param(&self, name: &str) -> Option<&BareItemFromInput<'_>> {
        self.params
            .iter()
            .find(|(key, _)| key.as_str() == name)
            .map(|(_, value)| value)
    }
}

/// One member of a dictionary: an item (`Signature`'s form) or an inner list
/// (`Signature-Input`'s).
#[derive(Debug)]
pub(crate) enum Member<'f> {
    Item(BareItemFromInput<'f>),
    List(Covered<'f>),
}

/// The members of the labels `labels` of one dictionary, in that order; of a label given twice,
/// the last one counts (RFC 8941).
pub(crate) struct Members<'f, const N: usize> {
    labels: [&'static str; N],
    slots: [Option<Member<'f>>; N],
}

impl<'f, const N: usize> Members<'f, N> {
    /// Each label's member, in the order of the labels.
    pub(crate) fn into_members(self) -> [Option<Member<'f>>; N] {
        self.slots
    }
}

/// Parses the members of `labels` from a dictionary field (none from a missing field).
pub(crate) fn parse_members<'f, const N: usize>(
    field: Option<&'f [u8]>,
    labels: [&'static str; N],
) -> Result<Members<'f, N>, ApproovErrorKind> {
    let mut members = Members {
        labels,
        slots: std::array::from_fn(|_| None),
    };
    if let Some(field) = field {
        Parser::new(field)
            .parse_dictionary_with_visitor(&mut members)
            .map_err(|_| ApproovErrorKind::SignatureMalformed)?;
    }
    Ok(members)
}

impl<'f, const N: usize> DictionaryVisitor<'f> for &mut Members<'f, N> {
    type Out = ();
    type Error = std::convert::Infallible;

    fn entry(&mut self, key: &'f KeyRef) -> Result<impl EntryVisitor<'f>, Self::Error> {
        let index = self.labels.iter().position(|l| *l == key.as_str());
        Ok(index.and_then(|i| self.slots.get_mut(i)).map(Slot))
    }

    fn finish(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Where a wanted member goes.
struct Slot<'a, 'f>(&'a mut Option<Member<'f>>);

impl<'f> EntryVisitor<'f> for Slot<'_, 'f> {
    type Error = std::convert::Infallible;

    fn item(self) -> Result<impl ItemVisitor<'f>, Self::Error> {
        let slot = self.0;
        // The item's own parameters say nothing the check reads.
        Ok(move |bare_item| {
            *slot = Some(Member::Item(bare_item));
            Ok::<_, std::convert::Infallible>(Ignored)
        })
    }

    fn inner_list(self) -> Result<impl InnerListVisitor<'f>, Self::Error> {
        *self.0 = Some(Member::List(Covered::default()));
        Ok(match self.0 {
            Some(Member::List(covered)) => Some(covered),
            // Just written: never reached, and harmless (the member is then dropped).
            _ => None,
        })
    }
}

impl<'f> InnerListVisitor<'f> for &mut Covered<'f> {
    type Error = std::convert::Infallible;

    fn item(&mut self) -> Result<impl ItemVisitor<'f>, Self::Error> {
        Ok(Component(&mut self.items))
    }

    fn finish(self) -> Result<impl ParameterVisitor<'f>, Self::Error> {
        Ok(SignatureParameters(&mut self.params))
    }
}

/// Adds a covered component.
struct Component<'a, 'f>(&'a mut Vec<(BareItemFromInput<'f>, bool)>);

impl<'f> ItemVisitor<'f> for Component<'_, 'f> {
    type Out = ();
    type Error = std::convert::Infallible;

    fn bare_item(
        self,
        bare_item: BareItemFromInput<'f>,
    ) -> Result<impl ParameterVisitor<'f, Out = ()>, Self::Error> {
        self.0.push((bare_item, false));
        Ok(ItemParameters(self.0.last_mut().map(|item| &mut item.1)))
    }
}

/// Notes that a component has parameters.
struct ItemParameters<'a>(Option<&'a mut bool>);

impl<'f> ParameterVisitor<'f> for ItemParameters<'_> {
    type Out = ();
    type Error = std::convert::Infallible;

    fn parameter(
        &mut self,
        _key: &'f KeyRef,
        _value: BareItemFromInput<'f>,
    ) -> Result<(), Self::Error> {
        if let Some(has) = self.0.as_deref_mut() {
            *has = true;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Collects the signature parameters, a repeated key keeping its place and taking the new
/// value.
struct SignatureParameters<'a, 'f>(&'a mut Vec<(&'f KeyRef, BareItemFromInput<'f>)>);

impl<'f> ParameterVisitor<'f> for SignatureParameters<'_, 'f> {
    type Out = ();
    type Error = std::convert::Infallible;

    fn parameter(
        &mut self,
        key: &'f KeyRef,
        value: BareItemFromInput<'f>,
    ) -> Result<(), Self::Error> {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, old)) => *old = value,
            None => self.0.push((key, value)),
        }
        Ok(())
    }

    fn finish(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The member `label` of the dictionary `field`, which must be an inner list.
    pub(crate) fn covered<'f>(field: &'f str, label: &'static str) -> Covered<'f> {
        match parse_members(Some(field.as_bytes()), [label])
            .unwrap()
            .into_members()
        {
            [Some(Member::List(covered))] => covered,
            other => panic!("{other:?}"),
        }
    }

    /// What each label's member of `field` is.
    fn members(field: &str) -> Result<Vec<Option<String>>, ApproovErrorKind> {
        let members = parse_members(Some(field.as_bytes()), ["install", "account"])?;
        Ok(members
            .into_members()
            .into_iter()
            .map(|member| {
                member.map(|m| match m {
                    Member::Item(item) => format!("item {item:?}"),
                    Member::List(list) => format!("list of {}", list.items.len()),
                })
            })
            .collect())
    }

    #[test]
    fn the_members_of_a_signature_field_are_its_labels_last_one_counting_and_others_dropped() {
        assert_eq!(
            members(r#"install=("a"), sig1=("x" "y"), account=:AAAA:"#),
            Ok(vec![
                Some("list of 1".to_owned()),
                Some("item ByteSequence([0, 0, 0])".to_owned())
            ])
        );
        // Given twice, the last counts (RFC 8941), whichever kind each is.
        assert_eq!(
            members(r#"install=("a"), install=("a" "b" "c"), account=:AAAA:, account=("x")"#),
            Ok(vec![
                Some("list of 3".to_owned()),
                Some("list of 1".to_owned())
            ])
        );
        assert_eq!(
            members(r#"account=("x"), account"#),
            Ok(vec![None, Some("item Boolean(true)".to_owned())])
        );
        assert_eq!(members("sig1=:AAAA:"), Ok(vec![None, None]));
        // A malformed member of another label still makes the field malformed.
        assert_eq!(
            members(r#"account=:AAAA:, sig1=("x""#),
            Err(ApproovErrorKind::SignatureMalformed)
        );
    }

    #[test]
    fn covered_components_keep_their_order_and_parameters_keep_their_first_place_and_last_value() {
        let covered = covered(
            r#"sig=("@method" "a";x=1 "b");alg="one";created=1;alg="two""#,
            "sig",
        );
        let names: Vec<String> = covered
            .items
            .iter()
            .map(|(item, has_params)| format!("{item:?} {has_params}"))
            .collect();
        assert_eq!(
            names,
            [
                "String(StringRef(\"@method\")) false",
                "String(StringRef(\"a\")) true",
                "String(StringRef(\"b\")) false"
            ]
        );
        let params: Vec<String> = covered
            .params
            .iter()
            .map(|(key, value)| format!("{}={value:?}", key.as_str()))
            .collect();
        assert_eq!(
            params,
            [
                "alg=String(StringRef(\"two\"))",
                "created=Integer(Integer(1))"
            ]
        );
        assert!(covered.param("created").is_some() && covered.param("expires").is_none());
    }
}
