//! Deterministic fake data: ids, catalog, and distinctive buyer details (easy to grep for
//! in logs; umlauts, apostrophes and `&` exercise the client's encoding).

use crate::config::marketplace;
use crate::model::{Buyer, NewItem};
use crate::rng::Rng;

const CATALOG: &[(&str, &str, i64)] = &[
    ("OB-MUG-350", "Emaille-Becher \"Bergsee\" 350 ml", 1299),
    ("OB-TEE-ORG-M", "Bio-Baumwoll T-Shirt, Größe M", 1999),
    ("OB-BAG-JUTE", "Jute-Einkaufstasche & Kühlfach", 849),
    ("OB-LAMP-DESK", "LED-Schreibtischlampe, dimmbar", 3450),
    ("OB-SOCK-3P", "Wollsocken 3er-Pack (Gr. 39–42)", 1595),
    ("OB-BOOK-DE", "Kochbuch: Omas Küche", 2400),
];

const FIRST_NAMES: &[&str] = &[
    "Erika",
    "Max",
    "Sophie",
    "Lukas",
    "Marie",
    "Jonas",
    "Hannah",
    "Felix",
    "Zoë",
    "Jürgen",
    "Małgorzata",
    "Leon",
];
const LAST_NAMES: &[&str] = &[
    "Mustermann",
    "Musterfrau",
    "Schneider",
    "Fischer",
    "Weber",
    "Schäfer",
    "Öztürk",
    "Nguyen",
    "O'Brien",
    "Hoffmann",
];
const STREETS: &[&str] = &[
    "Hauptstraße",
    "Bahnhofstraße",
    "Lindenallee",
    "Am Mühlbach",
    "Friedrich-Ebert-Ring",
    "Kirchgasse",
    "Schillerstraße",
];
/// (city, postal code, state, phone area code)
const CITIES: &[(&str, &str, &str, &str)] = &[
    ("Berlin", "10115", "Berlin", "30"),
    ("München", "80331", "Bayern", "89"),
    ("Hamburg", "20095", "Hamburg", "40"),
    ("Köln", "50667", "Nordrhein-Westfalen", "221"),
    ("Frankfurt am Main", "60311", "Hessen", "69"),
    ("Leipzig", "04109", "Sachsen", "341"),
    ("Dresden", "01067", "Sachsen", "351"),
];

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// `302-1234567-1234567` style (prefixes seen on European marketplaces).
pub(crate) fn order_id(rng: &mut Rng) -> String {
    let prefix = rng.range(302, 306);
    format!("{prefix}-{}-{}", rng.digits(7), rng.digits(7))
}

/// 14 digits, no leading zero.
pub(crate) fn order_item_id(rng: &mut Rng) -> String {
    format!("{}{}", rng.range(1, 9), rng.digits(13))
}

pub(crate) fn random_items(rng: &mut Rng) -> Vec<NewItem> {
    let count = rng.range(1, 3) as usize;
    let start = rng.below(CATALOG.len() as u64) as usize;
    (0..count)
        .map(|k| {
            let (sku, _, cents) = CATALOG[(start + k) % CATALOG.len()];
            NewItem::new(sku, rng.range(1, 3) as u32, cents)
        })
        .collect()
}

/// FNV-1a, so ASINs and titles are a stable function of the SKU.
fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

pub(crate) fn asin(sku: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut h = hash(sku);
    let mut out = String::from("B0");
    for _ in 0..8 {
        out.push(char::from(ALPHABET[(h % 36) as usize]));
        h /= 36;
    }
    out
}

pub(crate) fn title(sku: &str) -> String {
    CATALOG
        .iter()
        .find(|(s, _, _)| *s == sku)
        .map(|(_, t, _)| (*t).to_string())
        .unwrap_or_else(|| format!("Sandbox-Artikel {sku}"))
}

pub(crate) fn buyer(rng: &mut Rng, marketplace_id: &str) -> Buyer {
    let market = marketplace(marketplace_id);
    let first = rng.pick(FIRST_NAMES);
    let last = rng.pick(LAST_NAMES);
    let name = format!("{first} {last}-{}", rng.range(1000, 9999));
    let email = format!("{}@marketplace.{}", rng.string(LOWER_ALNUM, 14), market.domain);
    let company = rng.percent(20).then(|| format!("{last} & Partner GmbH {}", rng.range(100, 999)));
    let street = rng.pick(STREETS);
    let number = rng.range(1, 199);
    let suffix = if rng.percent(30) { "a" } else { "" };
    let address_line1 = format!("{street} {number}{suffix}");
    let address_line2 =
        rng.percent(30).then(|| format!("Hinterhaus {}. OG, Whg. {}", rng.range(1, 5), rng.range(100, 999)));
    let (city, postal_code, state, area) = *rng.pick(CITIES);
    let state_or_region = rng.percent(40).then(|| state.to_string());
    let phone = format!("+49 {area} {}", rng.digits(7));
    Buyer {
        name,
        email,
        company,
        address_line1,
        address_line2,
        city: city.to_string(),
        postal_code: postal_code.to_string(),
        state_or_region,
        country_code: market.country.to_string(),
        phone,
    }
}

/// An SCX buyer: address split the way JTL's `Address` is (street, house number, addition),
/// an e-mail address relayed by the marketplace, and a phone number only sometimes.
pub(crate) fn scx_buyer(rng: &mut Rng) -> crate::scx::model::ScxBuyer {
    let first_name = rng.pick(FIRST_NAMES).to_string();
    let last = rng.pick(LAST_NAMES);
    let last_name = format!("{last}-{}", rng.range(1000, 9999));
    let company = rng.percent(20).then(|| format!("{last} & Partner GmbH {}", rng.range(100, 999)));
    let street = rng.pick(STREETS).to_string();
    let house_number = format!("{}{}", rng.range(1, 199), if rng.percent(30) { "a" } else { "" });
    let addition =
        rng.percent(30).then(|| format!("Hinterhaus {}. OG, Whg. {}", rng.range(1, 5), rng.range(100, 999)));
    let (city, postcode, _, area) = *rng.pick(CITIES);
    let phone = rng.percent(50).then(|| format!("+49 {area} {}", rng.digits(7)));
    let email = format!("{}@relay.marketplace.example", rng.string(LOWER_ALNUM, 14));
    crate::scx::model::ScxBuyer {
        first_name,
        last_name,
        company,
        street,
        house_number,
        addition,
        postcode: postcode.to_string(),
        city: city.to_string(),
        country: "DE".to_string(),
        phone,
        email,
    }
}

const TOKEN_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// JWT-looking SCX session token (`eyJ…`, three dot-separated base64url parts).
pub(crate) fn scx_auth_token(rng: &mut Rng) -> String {
    const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    format!("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJ{}.{}", rng.string(B64URL, 96), rng.string(B64URL, 86))
}

/// LWA-looking access token.
pub(crate) fn access_token(rng: &mut Rng) -> String {
    format!("Atza|IwEB{}", rng.string(TOKEN_CHARS, 120))
}

/// Grantless access tokens carry LWA's client-credentials prefix.
pub(crate) fn grantless_access_token(rng: &mut Rng) -> String {
    format!("Atc|MQEB{}", rng.string(TOKEN_CHARS, 120))
}

/// UUID-shaped request id.
pub(crate) fn request_id(rng: &mut Rng) -> String {
    uuid(rng)
}

/// UUID-shaped (version and variant bits not set): destination, subscription and
/// notification ids.
pub(crate) fn uuid(rng: &mut Rng) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    format!(
        "{}-{}-{}-{}-{}",
        rng.string(HEX, 8),
        rng.string(HEX, 4),
        rng.string(HEX, 4),
        rng.string(HEX, 4),
        rng.string(HEX, 12)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_amazon_shapes() {
        let mut rng = Rng::stream(1, 1);
        let id = order_id(&mut rng);
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [3, 7, 7]);
        let item = order_item_id(&mut rng);
        assert_eq!(item.len(), 14);
        assert!(item.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(asin("X").len(), 10);
        assert_eq!(asin("X"), asin("X"));
    }
}
