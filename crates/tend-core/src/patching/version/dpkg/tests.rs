//! dpkg's own test vectors: the comparison table of dpkg's `scripts/t/Dpkg_Version.t` (its
//! `__DATA__` section, checked there against `dpkg --compare-versions` too) and the parse and
//! compare cases of libdpkg's `lib/dpkg/t/t-version.c`; then Debian Policy's examples (§5.6.12)
//! and versions as the archive writes them.

use std::cmp::Ordering::{self, Equal, Greater, Less};

use super::*;

fn v(text: &str) -> DebVersion {
    DebVersion::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn sign(n: i8) -> Ordering {
    n.cmp(&0)
}

/// Each row both ways round: the comparison must be antisymmetric.
fn check(rows: &[(&str, &str, Ordering)]) {
    for &(a, b, expected) in rows {
        assert_eq!(v(a).cmp(&v(b)), expected, "{a} vs {b}");
        assert_eq!(v(b).cmp(&v(a)), expected.reverse(), "{b} vs {a}");
    }
}

/// `Dpkg_Version.t`'s table, every row: version, version, expected sign.
const DPKG_VERSION_T: [(&str, &str, i8); 43] = [
    ("1.0-1", "2.0-2", -1),
    ("2.2~rc-4", "2.2-1", -1),
    ("2.2-1", "2.2~rc-4", 1),
    ("1.0000-1", "1.0-1", 0),
    ("1", "0:1", 0),
    ("0", "0:0-0", 0),
    ("2:2.5", "1:7.5", 1),
    ("1:foo", "foo", 1),
    ("0:foo", "foo", 0),
    ("foo", "foo", 0),
    ("foo-", "foo", 0),
    ("foo-", "foo-0", 0),
    ("foo", "fo", 1),
    ("foo-", "foo+", -1),
    ("foo~1", "foo", -1),
    ("foo~foo+Bar", "foo~foo+bar", -1),
    ("foo~~", "foo~", -1),
    ("1~", "1", -1),
    ("12345+that-really-is-some-ver-0", "12345+that-really-is-some-ver-10", -1),
    ("foo-0", "foo-01", -1),
    ("foo.bar", "foobar", 1),
    ("foo.bar", "foo1bar", 1),
    ("foo.bar", "foo0bar", 1),
    ("1foo-1", "foo-1", -1),
    ("foo2.0", "foo2", 1),
    ("foo2.0.0", "foo2.10.0", -1),
    ("foo2.0", "foo2.0.0", -1),
    ("foo2.0", "foo2.10", -1),
    ("foo2.1", "foo2.10", -1),
    ("1.09", "1.9", 0),
    ("1.0.8+nmu1", "1.0.8", 1),
    ("3.11", "3.10+nmu1", 1),
    ("0.9j-20080306-4", "0.9i-20070324-2", 1),
    ("1.2.0~b7-1", "1.2.0~b6-1", 1),
    ("1.011-1", "1.06-2", 1),
    ("0.0.9+dfsg1-1", "0.0.8+dfsg1-3", 1),
    ("4.6.99+svn6582-1", "4.6.99+svn6496-1", 1),
    ("53", "52", 1),
    ("0.9.9~pre122-1", "0.9.9~pre111-1", 1),
    ("2:2.3.2-2+lenny2", "2:2.3.2-2", 1),
    ("1:3.8.1-1", "3.8.GA-1", 1),
    ("1.0.1+gpl-1", "1.0.1-2", 1),
    ("1a", "1000a", -1),
];

#[test]
fn dpkg_version_t_table() {
    let rows: Vec<_> = DPKG_VERSION_T.iter().map(|&(a, b, s)| (a, b, sign(s))).collect();
    check(&rows);
}

/// `t-version.c`, `test_version_compare` and `test_version_relate`: its version objects
/// (epoch, upstream, revision) written as strings.
#[test]
fn t_version_c_compare_and_relate() {
    check(&[
        ("0:1-1", "0:2-1", Less),
        ("0:1-1", "0:1-2", Less),
        ("0:0-0", "0:0-0", Equal),
        ("0:0-00", "0:00-0", Equal),
        ("1:2-3", "1:2-3", Equal),
        ("0:0-0", "1:0-0", Less),
        ("0:a-0", "0:b-0", Less),
        ("0:0-a", "0:0-b", Less),
        ("0:1-1", "0:1-1", Equal),
        ("0:2-1", "0:1-1", Greater),
    ]);
}

/// `t-version.c`, `test_version_parse`: what parses, into which parts.
#[test]
fn t_version_c_parses() {
    let cases: [(&str, u32, &str, &str); 20] = [
        ("0", 0, "0", ""),
        ("0:0", 0, "0", ""),
        ("0:0-", 0, "0", ""),
        ("0:0-0", 0, "0", "0"),
        ("0:0.0-0.0", 0, "0.0", "0.0"),
        ("1:0", 1, "0", ""),
        ("5:1", 5, "1", ""),
        // Several hyphens: the revision follows the last one.
        ("0:0-0-0", 0, "0-0", "0"),
        ("0:0-0-0-0", 0, "0-0-0", "0"),
        // Several colons: the epoch precedes the first one.
        ("0:0:0-0", 0, "0:0", "0"),
        ("0:0:0:0-0", 0, "0:0:0", "0"),
        ("0:0:0-0-0", 0, "0:0-0", "0"),
        ("0:0-0:0-0", 0, "0-0:0", "0"),
        // Every character an upstream version and a revision may hold.
        ("0:09azAZ.-+~:-0", 0, "09azAZ.-+~:", "0"),
        ("0:0-azAZ09.+~", 0, "0", "azAZ09.+~"),
        // Surrounding whitespace.
        ("  \t0:0-1", 0, "0", "1"),
        ("0:0-1\t  ", 0, "0", "1"),
        ("\t  0:0-1  \t", 0, "0", "1"),
        // dpkg warns about an upstream version starting with a letter; tend accepts it.
        ("0:abc3-0", 0, "abc3", "0"),
        ("2147483647:1", 2_147_483_647, "1", ""),
    ];
    for (text, epoch, upstream, revision) in cases {
        let version = v(text);
        assert_eq!(
            (version.epoch, version.upstream.as_str(), version.revision.as_str()),
            (epoch, upstream, revision),
            "{text:?}"
        );
    }
}

/// `t-version.c`, `test_version_parse`: what dpkg refuses, and what it only warns about but
/// tend refuses (characters outside dpkg's sets).
#[test]
fn t_version_c_refuses() {
    let mut refused: Vec<String> = [
        // dpkg's errors.
        "",
        "  ",
        "0:",
        "0:0 0-1",
        "-1:0-1",
        "999999999999999999999999:0-1",
        "2147483648:1",
        "a:0-0",
        "A:0-0",
        "-0",
        "0:-0",
        ":1.0",
        // dpkg's warnings that tend refuses: a colon in the revision...
        "0:0-0:0",
    ]
    .map(str::to_owned)
    .to_vec();
    // ...and each character the test tries in an upstream version ("0:0a-0" with the 'a'
    // replaced) and in a revision ("0:0-0" with a character appended).
    refused.extend("!#@$%&/|\\<>()[]{};,_=*^'".chars().map(|c| format!("0:0{c}-0")));
    refused.extend("!#@$%&/|\\<>()[]{}:;,_=*^'".chars().map(|c| format!("0:0-0{c}")));
    for text in &refused {
        assert!(
            matches!(DebVersion::parse(text), Err(Error::Invalid { field: "version", .. })),
            "{text:?} should be refused"
        );
    }
    assert_eq!(refused.len(), 13 + 24 + 25);
}

/// Debian Policy §5.6.12: "~~, ~~a, ~, the empty part, a" in ascending order; and the
/// comparisons the policy's text and every packaging guide walk through.
#[test]
fn debian_policy_examples() {
    let ascending = ["1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a"];
    for pair in ascending.windows(2) {
        check(&[(pair[0], pair[1], Less)]);
    }
    check(&[
        ("1.0~rc1", "1.0", Less),
        ("1:1.0", "2.0", Greater),
        ("1.0-1", "1.0-1.1", Less),
        ("2.30-1", "2.3-1", Greater),
        ("2.3-1", "2.03-1", Equal),
    ]);
}

/// Versions as Debian's archive and security archive write them: stable updates (`+debNuM`),
/// security backports (`~debNuM`, sorting below the next release's version), binNMUs (`+bN`).
#[test]
fn archive_versions() {
    check(&[
        ("3.0.11-1~deb12u2", "3.0.13-1~deb12u1", Less),
        ("3.0.13-1~deb12u1", "3.0.13-1", Less),
        ("2.36-9+deb12u4", "2.36-9+deb12u10", Less),
        ("2.36-9+deb12u9", "2.36-9", Greater),
        ("5.2.15-2+b8", "5.2.15-2", Greater),
        ("5.2.15-2+b8", "5.2.15-3", Less),
        ("1:4.13+dfsg1-1+deb12u1", "4.99", Greater),
        ("1.1.1w-0+deb11u1", "1.1.1n-0+deb11u5", Greater),
        ("7.88.1-10+deb12u5", "7.88.1-10+deb12u12", Less),
        ("1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u2", Greater),
    ]);
}

#[test]
fn canonical_form() {
    let cases =
        [("0:1.0-1", "1.0-1"), ("1:2.3", "1:2.3"), ("  foo-  ", "foo"), ("0:0:0-0", "0:0:0-0"), ("1.0-2-", "1.0-2-")];
    for (text, written) in cases {
        assert_eq!(v(text).to_string(), written, "{text:?}");
        assert_eq!(v(written), v(text), "{text:?} reads back equal");
    }
    assert_eq!("1.2-3".parse::<DebVersion>().unwrap(), v("1.2-3"));
}
