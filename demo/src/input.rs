//! Parses the real interaction logs in `demo/data/`: a Stack Exchange site
//! dump (XML) and the CollegeMsg message log (gzipped CSV).

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use flate2::read::GzDecoder;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use thiserror::Error;

/// Vote type of an up-vote in the Stack Exchange dump schema.
const UP_VOTE: i64 = 2;

/// Errors reading the input files.
#[derive(Debug, Error)]
pub enum InputError {
    /// A file could not be opened or read.
    #[error("cannot read {path}: {source}; check --data-dir")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The XML is not well formed.
    #[error("{path} is not valid XML at byte {position}: {source}")]
    Xml {
        /// The file.
        path: PathBuf,
        /// Byte offset of the problem.
        position: u64,
        /// The cause.
        source: quick_xml::Error,
    },
    /// A CSV record could not be read.
    #[error("{path}: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: csv::Error,
    },
    /// A field is missing or does not parse.
    #[error("{path}, record {record}: field `{field}` value {value:?} is invalid ({expected})")]
    Field {
        /// The file.
        path: PathBuf,
        /// The record's position, from 1.
        record: usize,
        /// The field.
        field: &'static str,
        /// The text found, empty when missing.
        value: String,
        /// The expected content of the field.
        expected: &'static str,
    },
}

/// A post (question or answer) of the Stack Exchange site.
#[derive(Debug, Clone, PartialEq)]
pub struct SitePost {
    /// `Id`.
    pub id: i64,
    /// `OwnerUserId`; absent for posts of deleted accounts.
    pub owner: Option<i64>,
    /// `CreationDate`.
    pub created: NaiveDateTime,
}

/// A comment on a post.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteComment {
    /// `Id`.
    pub id: i64,
    /// `PostId`.
    pub post: i64,
    /// `UserId`; absent for comments of deleted accounts.
    pub author: Option<i64>,
    /// `CreationDate`.
    pub created: NaiveDateTime,
}

/// An up-vote on a post. Voters are anonymous in the dump and dates are
/// truncated to the day.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteVote {
    /// `Id`.
    pub id: i64,
    /// `PostId`.
    pub post: i64,
    /// `CreationDate` (midnight of the vote's day).
    pub created: NaiveDateTime,
}

/// One private message of CollegeMsg.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Position in the file, from 0.
    pub index: usize,
    /// The sender's user number.
    pub source: u32,
    /// The receiver's user number.
    pub target: u32,
    /// When it was sent, to the minute.
    pub sent: NaiveDateTime,
}

/// Every record the workload is built from.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// `Id` of every account of the site with `Id` > 0 (-1 is the Community bot).
    pub site_users: Vec<i64>,
    /// Posts in file order.
    pub posts: Vec<SitePost>,
    /// Comments in file order.
    pub comments: Vec<SiteComment>,
    /// Up-votes in file order.
    pub votes: Vec<SiteVote>,
    /// Messages in file order (which is time order).
    pub messages: Vec<Message>,
}

/// How much of the input to read.
#[derive(Debug, Clone, Copy)]
pub struct Portion {
    /// The first this many CollegeMsg messages; `None` reads all of them.
    pub messages: Option<usize>,
    /// Whether to read the Stack Exchange dump.
    pub site: bool,
}

/// Reads the files under `data_dir` (`stackexchange-conlang/` and `collegemsg/`).
pub fn read(data_dir: &Path, portion: Portion) -> Result<Input, InputError> {
    let mut input = Input::default();
    if portion.site {
        let site = data_dir.join("stackexchange-conlang");
        input.site_users = read_rows(&site.join("Users.xml"), |row| Ok(Some(row.int("Id")?)))?
            .into_iter()
            .filter(|id| *id > 0)
            .collect();
        input.posts = read_rows(&site.join("Posts.xml"), |row| {
            Ok(Some(SitePost {
                id: row.int("Id")?,
                owner: row.optional_int("OwnerUserId")?,
                created: row.time("CreationDate")?,
            }))
        })?;
        input.comments = read_rows(&site.join("Comments.xml"), |row| {
            Ok(Some(SiteComment {
                id: row.int("Id")?,
                post: row.int("PostId")?,
                author: row.optional_int("UserId")?,
                created: row.time("CreationDate")?,
            }))
        })?;
        input.votes = read_rows(&site.join("Votes.xml"), |row| {
            if row.int("VoteTypeId")? != UP_VOTE {
                return Ok(None);
            }
            Ok(Some(SiteVote {
                id: row.int("Id")?,
                post: row.int("PostId")?,
                created: row.time("CreationDate")?,
            }))
        })?;
    }
    input.messages = read_messages(&data_dir.join("collegemsg/collegemsg.csv.gz"), portion.messages)?;
    Ok(input)
}

/// The attributes of one `<row .../>` element.
struct Row<'a> {
    path: &'a Path,
    record: usize,
    element: &'a BytesStart<'a>,
}

impl Row<'_> {
    fn text(&self, field: &'static str) -> Option<String> {
        self.element
            .attributes()
            .flatten()
            .find(|attribute| attribute.key.as_ref() == field.as_bytes())
            .map(|attribute| String::from_utf8_lossy(&attribute.value).into_owned())
    }

    fn invalid(&self, field: &'static str, value: Option<String>, expected: &'static str) -> InputError {
        InputError::Field {
            path: self.path.to_path_buf(),
            record: self.record,
            field,
            value: value.unwrap_or_default(),
            expected,
        }
    }

    fn optional_int(&self, field: &'static str) -> Result<Option<i64>, InputError> {
        match self.text(field) {
            None => Ok(None),
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|_| self.invalid(field, Some(text), "an integer")),
        }
    }

    fn int(&self, field: &'static str) -> Result<i64, InputError> {
        self.optional_int(field)?
            .ok_or_else(|| self.invalid(field, None, "an integer"))
    }

    fn time(&self, field: &'static str) -> Result<NaiveDateTime, InputError> {
        let text = self.text(field);
        text.as_deref()
            .and_then(|text| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok())
            .ok_or_else(|| self.invalid(field, text, "a time like 2018-02-06T20:19:50.957"))
    }
}

/// Reads every `<row/>` of a Stack Exchange dump file through `parse`, which
/// returns `None` for rows to skip.
fn read_rows<T>(path: &Path, parse: impl Fn(&Row<'_>) -> Result<Option<T>, InputError>) -> Result<Vec<T>, InputError> {
    let file = File::open(path).map_err(|source| InputError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = Reader::from_reader(BufReader::new(file));
    let mut buffer = Vec::new();
    let mut rows = Vec::new();
    let mut record = 0;
    loop {
        let event = reader.read_event_into(&mut buffer).map_err(|source| InputError::Xml {
            path: path.to_path_buf(),
            position: reader.buffer_position(),
            source,
        })?;
        match event {
            Event::Empty(element) | Event::Start(element) if element.name().as_ref() == b"row" => {
                record += 1;
                let row = Row {
                    path,
                    record,
                    element: &element,
                };
                rows.extend(parse(&row)?);
            }
            Event::Eof => break,
            _ => {}
        }
        buffer.clear();
    }
    Ok(rows)
}

/// Reads the CollegeMsg CSV (`Source,Target,Timestamp`, times like `4/15/04 2:56 PM`).
fn read_messages(path: &Path, limit: Option<usize>) -> Result<Vec<Message>, InputError> {
    let file = File::open(path).map_err(|source| InputError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = csv::Reader::from_reader(GzDecoder::new(BufReader::new(file)));
    let mut messages = Vec::new();
    for (index, record) in reader.records().enumerate() {
        if limit.is_some_and(|limit| index >= limit) {
            break;
        }
        let record = record.map_err(|source| InputError::Csv {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |field: &'static str, expected: &'static str| InputError::Field {
            path: path.to_path_buf(),
            record: index + 1,
            field,
            value: record.get(field_index(field)).unwrap_or_default().to_string(),
            expected,
        };
        let user = |field: &'static str| {
            record
                .get(field_index(field))
                .and_then(|text| text.trim().parse::<u32>().ok())
                .ok_or_else(|| invalid(field, "a user number"))
        };
        let sent = record
            .get(2)
            .and_then(|text| NaiveDateTime::parse_from_str(text.trim(), "%m/%d/%y %I:%M %p").ok())
            .ok_or_else(|| invalid("Timestamp", "a time like 4/15/04 2:56 PM"))?;
        messages.push(Message {
            index,
            source: user("Source")?,
            target: user("Target")?,
            sent,
        });
    }
    Ok(messages)
}

fn field_index(field: &str) -> usize {
    match field {
        "Source" => 0,
        "Target" => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_dir() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data"))
    }

    #[test]
    fn whole_input_reads() {
        let portion = Portion {
            messages: None,
            site: true,
        };
        let input = read(&data_dir(), portion).expect("demo/data reads");
        assert_eq!(input.site_users.len(), 271);
        assert_eq!(input.posts.len(), 177);
        assert_eq!(input.comments.len(), 230);
        assert_eq!(input.votes.len(), 950);
        assert_eq!(input.messages.len(), 59_835);
        let first = &input.messages[0];
        assert_eq!((first.source, first.target), (1, 2));
        assert_eq!(first.sent.to_string(), "2004-04-15 14:56:00");
    }

    #[test]
    fn missing_folder_names_the_file() {
        let portion = Portion {
            messages: Some(1),
            site: false,
        };
        let error = read(Path::new("/nonexistent"), portion).expect_err("no such folder");
        assert!(
            error.to_string().contains("/nonexistent/collegemsg/collegemsg.csv.gz"),
            "{error}"
        );
    }
}
