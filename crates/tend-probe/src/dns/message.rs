//! DNS messages (RFC 1035): the one query a probe sends, and the parts of an answer it reads.
//!
//! Owns the wire format. Pure: no sockets here, so every case is tested on bytes. Must not
//! trust a length or a compression pointer: an answer comes from the network.

use crate::spec::RecordType;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

const HEADER_LEN: usize = 12;
const CLASS_IN: u16 = 1;
const FLAG_QR: u16 = 0x8000;
const FLAG_AA: u16 = 0x0400;
const FLAG_TC: u16 = 0x0200;
const FLAG_RD: u16 = 0x0100;
const MAX_NAME_LEN: usize = 255;
const MAX_LABEL_LEN: usize = 63;
/// More jumps than any honest message needs; a loop of pointers ends here.
const MAX_POINTER_JUMPS: usize = 64;

/// Appends `name` in wire form. A trailing dot is allowed; empty labels are not.
pub(crate) fn encode_name(name: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err("empty name".to_owned());
    }
    let start = out.len();
    for label in trimmed.split('.') {
        if label.is_empty() {
            return Err(format!("{name:?} has an empty label"));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(format!("{name:?} has a label longer than {MAX_LABEL_LEN} bytes"));
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(format!("{name:?}: a label may hold letters, digits, '-' and '_' only"));
        }
        // Checked above: at most 63.
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    if out.len() - start > MAX_NAME_LEN {
        return Err(format!("{name:?} is longer than {MAX_NAME_LEN} bytes"));
    }
    Ok(())
}

/// A recursion-desired query for one name and type, class IN. No EDNS: answers are then at most
/// 512 bytes over UDP, and a longer one comes back truncated and is asked again over TCP.
pub(crate) fn query(id: u16, name: &str, record_type: RecordType) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(HEADER_LEN + name.len() + 6);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&FLAG_RD.to_be_bytes());
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // one question, no other sections
    encode_name(name, &mut out)?;
    out.extend_from_slice(&record_type.code().to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(out)
}

/// What a probe reads of an answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Response {
    pub(crate) id: u16,
    pub(crate) authoritative: bool,
    pub(crate) truncated: bool,
    pub(crate) rcode: u8,
    /// The first question, as echoed: name and type.
    pub(crate) question: Option<(String, u16)>,
    pub(crate) answers: Vec<Record>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub(crate) name: String,
    pub(crate) type_code: u16,
    pub(crate) ttl: u32,
    pub(crate) data: Rdata,
}

/// Record data of the types a probe asks for; anything else is kept as its type only.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rdata {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// CNAME and NS: a name.
    Name(String),
    Mx {
        preference: u16,
        exchange: String,
    },
    /// The character-strings joined, as SPF and DKIM records are read.
    Txt(String),
    Soa {
        mname: String,
        rname: String,
        serial: u32,
        refresh: u32,
        retry: u32,
        expire: u32,
        minimum: u32,
    },
    Other,
}

impl fmt::Display for Rdata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rdata::A(ip) => write!(f, "{ip}"),
            Rdata::Aaaa(ip) => write!(f, "{ip}"),
            Rdata::Name(name) => f.write_str(name),
            Rdata::Mx { preference, exchange } => write!(f, "{preference} {exchange}"),
            Rdata::Txt(text) => f.write_str(text),
            Rdata::Soa { mname, rname, serial, refresh, retry, expire, minimum } => {
                write!(f, "{mname} {rname} {serial} {refresh} {retry} {expire} {minimum}")
            }
            Rdata::Other => f.write_str("(unsupported type)"),
        }
    }
}

/// The mnemonic of a response code (RFC 1035 §4.1.1, RFC 6895).
pub(crate) fn rcode_name(rcode: u8) -> String {
    match rcode {
        0 => "NOERROR".to_owned(),
        1 => "FORMERR".to_owned(),
        2 => "SERVFAIL".to_owned(),
        3 => "NXDOMAIN".to_owned(),
        4 => "NOTIMP".to_owned(),
        5 => "REFUSED".to_owned(),
        other => format!("RCODE{other}"),
    }
}

/// Reads a response. Only the header, the question and the answer section are read; authority
/// and additional records are of no use to a probe.
pub(crate) fn parse(msg: &[u8]) -> Result<Response, String> {
    let mut r = Reader { msg, pos: 0 };
    let id = r.u16()?;
    let flags = r.u16()?;
    let questions = r.u16()?;
    let answers = r.u16()?;
    r.u16()?; // authority
    r.u16()?; // additional
    if flags & FLAG_QR == 0 {
        return Err("not a response (QR bit clear)".to_owned());
    }
    let mut question = None;
    for _ in 0..questions {
        let name = r.name()?;
        let qtype = r.u16()?;
        r.u16()?; // class
        question.get_or_insert((name, qtype));
    }
    let truncated = flags & FLAG_TC != 0;
    let mut records = Vec::with_capacity(usize::from(answers).min(64));
    for _ in 0..answers {
        match r.record() {
            Ok(record) => records.push(record),
            // A truncated answer may end mid-record; what came before is still good.
            Err(_) if truncated => break,
            Err(e) => return Err(e),
        }
    }
    Ok(Response {
        id,
        authoritative: flags & FLAG_AA != 0,
        truncated,
        // The low four bits; the mask keeps it below 16.
        rcode: (flags & 0x000f) as u8,
        question,
        answers: records,
    })
}

struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let bytes = self.msg.get(self.pos..self.pos + n).ok_or("message ends early")?;
        self.pos += n;
        Ok(bytes)
    }

    fn u16(&mut self) -> Result<u16, String> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn name(&mut self) -> Result<String, String> {
        let (name, next) = read_name(self.msg, self.pos)?;
        self.pos = next;
        Ok(name)
    }

    fn record(&mut self) -> Result<Record, String> {
        let name = self.name()?;
        let type_code = self.u16()?;
        self.u16()?; // class
        let ttl = self.u32()?;
        let len = usize::from(self.u16()?);
        let start = self.pos;
        self.take(len)?;
        // Names inside record data may point anywhere in the message, so read them from it.
        let mut data = Reader { msg: &self.msg[..start + len], pos: start };
        let rdata = match type_code {
            1 => {
                let b = data.take(4)?;
                Rdata::A(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
            28 => {
                let b: [u8; 16] = data.take(16)?.try_into().map_err(|_| "short AAAA record")?;
                Rdata::Aaaa(Ipv6Addr::from(b))
            }
            2 | 5 => Rdata::Name(data.name()?),
            15 => Rdata::Mx { preference: data.u16()?, exchange: data.name()? },
            16 => {
                let mut text = Vec::new();
                while data.pos < start + len {
                    let n = usize::from(data.take(1)?[0]);
                    text.extend_from_slice(data.take(n)?);
                }
                Rdata::Txt(String::from_utf8_lossy(&text).into_owned())
            }
            6 => Rdata::Soa {
                mname: data.name()?,
                rname: data.name()?,
                serial: data.u32()?,
                refresh: data.u32()?,
                retry: data.u32()?,
                expire: data.u32()?,
                minimum: data.u32()?,
            },
            _ => Rdata::Other,
        };
        Ok(Record { name, type_code, ttl, data: rdata })
    }
}

/// A possibly compressed name at `pos`: the name without its trailing dot ("." for the root),
/// and where the bytes after it start.
fn read_name(msg: &[u8], mut pos: usize) -> Result<(String, usize), String> {
    let mut name = String::new();
    let mut after = None;
    let mut jumps = 0;
    let mut length = 0;
    loop {
        let len = usize::from(*msg.get(pos).ok_or("name runs past the message")?);
        match len & 0xc0 {
            0x00 if len == 0 => {
                let next = after.unwrap_or(pos + 1);
                return Ok((if name.is_empty() { ".".to_owned() } else { name }, next));
            }
            0x00 => {
                let label = msg.get(pos + 1..pos + 1 + len).ok_or("label runs past the message")?;
                length += len + 1;
                if length > MAX_NAME_LEN {
                    return Err("name longer than 255 bytes".to_owned());
                }
                if !name.is_empty() {
                    name.push('.');
                }
                for &b in label {
                    if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                        name.push(char::from(b));
                    } else {
                        name.push_str(&format!("\\{b:03}"));
                    }
                }
                pos += 1 + len;
            }
            0xc0 => {
                let low = usize::from(*msg.get(pos + 1).ok_or("pointer runs past the message")?);
                after.get_or_insert(pos + 2);
                jumps += 1;
                if jumps > MAX_POINTER_JUMPS {
                    return Err("compression pointers loop".to_owned());
                }
                pos = ((len & 0x3f) << 8) | low;
            }
            _ => return Err(format!("unknown label type {len:#04x}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// dnsmasq's answer to `alias.probe.test A` (id 0x1234), captured: a CNAME then an A, both
    /// owner names compressed.
    const CNAME_THEN_A: &[u8] = &[
        0x12, 0x34, 0x85, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, // header
        0x05, b'a', b'l', b'i', b'a', b's', 0x05, b'p', b'r', b'o', b'b', b'e', 0x04, b't', b'e', b's', b't', 0x00,
        0x00, 0x01, 0x00, 0x01, // question
        0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x02, 0x58, 0x00, 0x02, 0xc0, 0x12, // CNAME probe.test
        0xc0, 0x12, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x58, 0x00, 0x04, 192, 0, 2, 1, // A
    ];

    #[test]
    fn builds_a_query() {
        let q = query(0xbeef, "probe.test.", RecordType::Mx).unwrap();
        assert_eq!(
            q,
            [
                0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 5, b'p', b'r', b'o', b'b', b'e', 4, b't', b'e', b's',
                b't', 0, 0, 15, 0, 1
            ]
        );
    }

    #[test]
    fn refuses_bad_names() {
        for bad in ["", ".", "a..b", "a b.test", &format!("{}.test", "x".repeat(64)), &"a.".repeat(128)] {
            assert!(encode_name(bad, &mut Vec::new()).is_err(), "{bad:?}");
        }
        assert!(encode_name("_dmarc.example-1.test", &mut Vec::new()).is_ok());
    }

    #[test]
    fn reads_compressed_answers() {
        let r = parse(CNAME_THEN_A).unwrap();
        assert_eq!((r.id, r.authoritative, r.truncated, r.rcode), (0x1234, true, false, 0));
        assert_eq!(r.question, Some(("alias.probe.test".to_owned(), 1)));
        assert_eq!(r.answers.len(), 2);
        assert_eq!(r.answers[0].name, "alias.probe.test");
        assert_eq!(r.answers[0].data, Rdata::Name("probe.test".into()));
        assert_eq!(r.answers[1].name, "probe.test");
        assert_eq!(r.answers[1].ttl, 600);
        assert_eq!(r.answers[1].data, Rdata::A(Ipv4Addr::new(192, 0, 2, 1)));
    }

    fn answer(type_code: u16, rdata: &[u8]) -> Vec<u8> {
        let mut msg = vec![0, 1, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0];
        encode_name("z.test", &mut msg).unwrap();
        msg.extend_from_slice(&type_code.to_be_bytes());
        msg.extend_from_slice(&[0, 1, 0xc0, 0x0c]);
        msg.extend_from_slice(&type_code.to_be_bytes());
        msg.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
        msg.extend_from_slice(&u16::try_from(rdata.len()).unwrap().to_be_bytes());
        msg.extend_from_slice(rdata);
        msg
    }

    #[test]
    fn reads_each_record_type() {
        let data = |type_code, rdata: &[u8]| parse(&answer(type_code, rdata)).unwrap().answers[0].data.to_string();
        assert_eq!(data(28, &[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), "2001:db8::1");
        assert_eq!(data(15, &[0, 10, 4, b'm', b'a', b'i', b'l', 0xc0, 0x0c]), "10 mail.z.test");
        assert_eq!(data(16, &[3, b'v', b'=', b'1', 2, b' ', b'x']), "v=1 x");
        assert_eq!(data(2, &[3, b'n', b's', b'1', 0xc0, 0x0c]), "ns1.z.test");
        let mut soa = vec![0xc0, 0x0c, 0xc0, 0x0c];
        for n in [2024010101u32, 1200, 180, 1209600, 600] {
            soa.extend_from_slice(&n.to_be_bytes());
        }
        assert_eq!(data(6, &soa), "z.test z.test 2024010101 1200 180 1209600 600");
        assert_eq!(data(99, &[1, 2, 3]), "(unsupported type)");
    }

    #[test]
    fn refuses_what_does_not_add_up() {
        let mut looped = answer(5, &[0xc0, 0x0c]);
        let at = looped.len() - 2;
        looped[at + 1] = u8::try_from(at).unwrap(); // a pointer to itself
        assert!(parse(&looped).unwrap_err().contains("loop"));
        assert!(parse(&CNAME_THEN_A[..CNAME_THEN_A.len() - 3]).is_err());
        let mut query_not_answer = CNAME_THEN_A.to_vec();
        query_not_answer[2] &= 0x7f;
        assert!(parse(&query_not_answer).is_err());
        assert!(parse(&[0; 5]).is_err());
    }

    #[test]
    fn a_truncated_answer_keeps_whole_records() {
        let mut msg = CNAME_THEN_A.to_vec();
        msg[2] |= 0x02; // TC
        msg.truncate(msg.len() - 3);
        let r = parse(&msg).unwrap();
        assert!(r.truncated);
        assert_eq!(r.answers.len(), 1);
    }

    #[test]
    fn names_rcodes() {
        assert_eq!(rcode_name(3), "NXDOMAIN");
        assert_eq!(rcode_name(9), "RCODE9");
    }
}
