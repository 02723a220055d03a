//! The TOML and JSON writers against Go output (testdata/files/go/encoder_cases.toml,
//! encoder_arrtables_top.toml, json_cases.json; see testdata/files/README.md). The values
//! below are the ones the Go program encoded.

use std::collections::BTreeMap;

use cnb::files::{RunImageForExport, gojson, gotoml};
use serde::Serialize;

fn golden(name: &str) -> String {
    let path = format!("{}/testdata/files/go/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[derive(Serialize, Default)]
struct Inner {
    name: String,
    vals: Option<Vec<String>>,
    empty: Option<Vec<String>>,
}

#[derive(Serialize, Default)]
struct Deep {
    leaf: String,
    items: Option<Vec<Inner>>,
    map: Option<BTreeMap<String, Inner>>,
}

fn is_false(b: &bool) -> bool {
    !b
}
fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct Cases {
    str: String,
    escapes: String,
    int: i64,
    neg: i64,
    uint: u64,
    f1: f64,
    f2: f64,
    f3: f64,
    f4: f64,
    f5: f64,
    f6: f64,
    f7: f64,
    f8: f64,
    bool: bool,
    #[serde(rename = "omit-b", skip_serializing_if = "is_false")]
    omit_b: bool,
    #[serde(rename = "omit-s", skip_serializing_if = "String::is_empty")]
    omit_s: String,
    #[serde(rename = "omit-z", skip_serializing_if = "is_zero")]
    omit_z: i64,
    zero: i64,
    #[serde(rename = "empty-str")]
    empty_str: String,
    arr: Vec<String>,
    #[serde(rename = "empty-arr")]
    empty_arr: Option<Vec<String>>,
    #[serde(rename = "nil-arr")]
    nil_arr: Option<Vec<String>>,
    ints: Vec<i64>,
    nested: Vec<Vec<String>>,
    time: toml::value::Datetime,
    #[serde(rename = "quoted-keys")]
    quoted_keys: BTreeMap<String, String>,
    top: Deep,
    #[serde(rename = "empty-map")]
    empty_map: Option<BTreeMap<String, String>>,
    #[serde(rename = "nil-map")]
    nil_map: Option<BTreeMap<String, String>>,
    tables: Vec<Deep>,
    after: String,
    any: toml::Table,
}

fn s(v: &str) -> String {
    v.to_owned()
}

#[test]
fn encoder_cases_match_burntsushi() {
    let any: toml::Table = toml::from_str(
        r#"
        z = 1
        a = "s"
        tbl = { x = true }
        arrtbl = [{ n = 1 }, { n = 2 }]
        mixed = [1, "two", { k = "v", sub = { q = 1 } }]
        emptytbl = {}
        inl = [{ a = 1, b = [1, 2] }, []]
        "#,
    )
    .expect("any table");
    let quoted_keys = [
        ("plain", "1"),
        ("with space", "2"),
        ("dot.ted", "3"),
        ("", "4"),
        ("ü", "5"),
        ("Upper_ok-9", "6"),
    ]
    .into_iter()
    .map(|(k, v)| (s(k), s(v)))
    .collect();
    let c = Cases {
        str: s("hello"),
        escapes: s("q\" b\\ \u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f} é ☃ \u{1F600} <&>"),
        int: 42,
        neg: -7,
        uint: u64::MAX,
        f1: 1.5,
        f2: 17.0,
        f3: 1234567.0,
        f4: 0.0001,
        f5: 0.00001,
        f6: 1e21,
        f7: 0.0,
        f8: 123456.0,
        bool: true,
        omit_b: false,
        omit_s: String::new(),
        omit_z: 0,
        zero: 0,
        empty_str: String::new(),
        arr: vec![s("a"), s("b")],
        empty_arr: Some(vec![]),
        nil_arr: None,
        ints: vec![1, 2, 3],
        nested: vec![vec![s("x")], vec![], vec![s("y"), s("z")]],
        time: "2026-08-01T10:20:30.0000005Z".parse().expect("datetime"),
        quoted_keys,
        top: Deep {
            leaf: s("l"),
            items: Some(vec![
                Inner {
                    name: s("i1"),
                    vals: Some(vec![s("v")]),
                    empty: None,
                },
                Inner {
                    name: s("i2"),
                    ..Default::default()
                },
            ]),
            map: Some(BTreeMap::from([
                (
                    s("b"),
                    Inner {
                        name: s("mb"),
                        ..Default::default()
                    },
                ),
                (
                    s("a"),
                    Inner {
                        name: s("ma"),
                        empty: Some(vec![]),
                        ..Default::default()
                    },
                ),
            ])),
        },
        empty_map: Some(BTreeMap::new()),
        nil_map: None,
        tables: vec![
            Deep {
                leaf: s("t1"),
                ..Default::default()
            },
            Deep {
                leaf: s("t2"),
                map: Some(BTreeMap::from([(
                    s("k"),
                    Inner {
                        name: s("kk"),
                        ..Default::default()
                    },
                )])),
                ..Default::default()
            },
        ],
        after: s("last"),
        any,
    };
    assert_eq!(
        gotoml::to_string(&c).expect("encode"),
        golden("encoder_cases.toml")
    );
}

#[test]
fn top_level_array_of_tables() {
    #[derive(Serialize)]
    struct OnlyArrTables {
        images: Vec<RunImageForExport>,
    }
    let v = OnlyArrTables {
        images: vec![
            RunImageForExport {
                image: s("a"),
                mirrors: vec![s("b"), s("c")],
            },
            RunImageForExport {
                image: s("d"),
                mirrors: vec![],
            },
        ],
    };
    assert_eq!(
        gotoml::to_string(&v).expect("encode"),
        golden("encoder_arrtables_top.toml")
    );
}

#[test]
fn nil_array_element_is_an_error_like_go() {
    let v = BTreeMap::from([(s("a"), vec![Some(1), None])]);
    let err = gotoml::to_string(&v).expect_err("nil element");
    assert!(err.to_string().contains("nil element"), "{err}");
}

#[test]
fn json_matches_go_encoding_json() {
    #[derive(Serialize)]
    struct Jcases {
        s: String,
        f: Vec<f64>,
        any: serde_json::Value,
        uni: String,
    }
    let v = Jcases {
        s: s(
            "q\" b\\ \u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f} é ☃ \u{1F600} <&> \u{2028} \u{2029}",
        ),
        f: vec![
            0.0,
            1.0,
            -1.0,
            17.0,
            0.1,
            1.5,
            1e20,
            1e21,
            123456789e15,
            1e-6,
            1e-7,
            0.000001234,
            -2.5e-10,
            3.0e100,
        ],
        any: serde_json::json!({"b": 1, "a": ["x", 2.5, null, true]}),
        uni: s("日本"),
    };
    assert_eq!(
        gojson::to_string(&v).expect("encode"),
        golden("json_cases.json")
    );
}

#[test]
fn datetimes_round_trip_like_go() {
    struct Freeform(toml::Table);
    impl Serialize for Freeform {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            cnb::files::freeform::serialize_table(&self.0, s)
        }
    }
    let path = format!(
        "{}/testdata/files/inputs/datetimes.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("input");
    let table: toml::Table = toml::from_str(&text).expect("parse");
    let m = Freeform(table);
    assert_eq!(
        gotoml::to_string(&m).expect("toml"),
        golden("datetimes.toml")
    );
    assert_eq!(
        gojson::to_string(&m).expect("json"),
        golden("datetimes.json")
    );
}

#[test]
fn quoted_headers_and_nested_arrays_of_tables() {
    #[derive(Serialize)]
    struct Leaf {
        v: String,
    }
    #[derive(Serialize)]
    struct Elem {
        name: String,
        subs: Vec<Leaf>,
        named: Option<BTreeMap<String, Leaf>>,
        after: i64,
    }
    #[derive(Serialize)]
    struct Doc {
        tables: BTreeMap<String, Leaf>,
        elems: Vec<Elem>,
        last: String,
    }
    let leaf = |v: &str| Leaf { v: s(v) };
    let d = Doc {
        tables: BTreeMap::from([
            (s("my.layer"), leaf("1")),
            (s("with space"), leaf("2")),
            (s("plain"), leaf("3")),
            (s("é"), leaf("4")),
        ]),
        elems: vec![
            Elem {
                name: s("a"),
                subs: vec![leaf("x"), leaf("y")],
                named: Some(BTreeMap::from([(s("k.1"), leaf("z"))])),
                after: 1,
            },
            Elem {
                name: s("b"),
                subs: vec![],
                named: None,
                after: 2,
            },
        ],
        last: s("end"),
    };
    assert_eq!(
        gotoml::to_string(&d).expect("encode"),
        golden("encoder_headers.toml")
    );
}
