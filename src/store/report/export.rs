//! `ee telemetry export`: every execution as JSON lines (with its match events) or CSV.

use std::io::{self, Write};

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection};

use crate::cli::ExportFormat;

fn json_value(v: ValueRef, json_col: bool) -> serde_json::Value {
    match v {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => i.into(),
        ValueRef::Real(f) => {
            serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, |n| n.into())
        }
        ValueRef::Text(t) => {
            let s = String::from_utf8_lossy(t);
            if json_col {
                if let Ok(v) = serde_json::from_str(&s) {
                    return v;
                }
            }
            s.into_owned().into()
        }
        ValueRef::Blob(b) => String::from_utf8_lossy(b).into_owned().into(),
    }
}

fn csv_field(v: ValueRef) -> String {
    let s = match v {
        ValueRef::Null => return String::new(),
        ValueRef::Integer(i) => return i.to_string(),
        ValueRef::Real(f) => return f.to_string(),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

const JSON_COLUMNS: &[&str] = &[
    "success_patterns",
    "error_patterns",
    "exclude_patterns",
    "context",
];

/// Write every execution (oldest first): JSON lines with their match events, or CSV.
pub fn export(
    conn: &Connection,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    let csv = format == ExportFormat::Csv;
    // json: one document, an array of the jsonl objects (streamed, one per line).
    let array = format == ExportFormat::Json;
    let mut st = conn.prepare("SELECT * FROM executions ORDER BY id")?;
    let names: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
    let mut ev = conn.prepare(
        "SELECT kind, offset_s, stream, line_no, pattern, line, matched, context
         FROM match_events WHERE execution_id = ?1 ORDER BY id",
    )?;
    let ev_names: Vec<String> = ev.column_names().iter().map(|s| s.to_string()).collect();
    if csv {
        writeln!(out, "{}", names.join(","))?;
    }
    if array {
        out.write_all(b"[")?;
    }
    let mut rows = st.query([])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        if csv {
            let fields: Vec<String> = (0..names.len())
                .map(|i| r.get_ref(i).map(csv_field))
                .collect::<rusqlite::Result<_>>()?;
            writeln!(out, "{}", fields.join(","))?;
        } else {
            let mut obj = serde_json::Map::new();
            let mut id = 0;
            for (i, name) in names.iter().enumerate() {
                let v = r.get_ref(i)?;
                if name == "id" {
                    id = v.as_i64().unwrap_or(0);
                }
                obj.insert(
                    name.clone(),
                    json_value(v, JSON_COLUMNS.contains(&name.as_str())),
                );
            }
            let mut events = Vec::new();
            let mut er = ev.query(params![id])?;
            while let Some(e) = er.next()? {
                let mut o = serde_json::Map::new();
                for (i, name) in ev_names.iter().enumerate() {
                    o.insert(
                        name.clone(),
                        json_value(e.get_ref(i)?, JSON_COLUMNS.contains(&name.as_str())),
                    );
                }
                events.push(serde_json::Value::Object(o));
            }
            obj.insert("match_events".into(), events.into());
            if array {
                out.write_all(if n == 0 { b"\n" } else { b",\n" })?;
            }
            serde_json::to_writer(&mut *out, &obj).map_err(io::Error::from)?;
            if !array {
                out.write_all(b"\n")?;
            }
        }
        n += 1;
    }
    if array {
        out.write_all(if n == 0 { b"]\n" } else { b"\n]\n" })?;
    }
    out.flush()?;
    Ok(n)
}

/// Export failure: the database or the output.
#[derive(Debug)]
pub enum ExportError {
    Db(rusqlite::Error),
    Io(io::Error),
}

impl From<rusqlite::Error> for ExportError {
    fn from(e: rusqlite::Error) -> Self {
        ExportError::Db(e)
    }
}

impl From<io::Error> for ExportError {
    fn from(e: io::Error) -> Self {
        ExportError::Io(e)
    }
}
