//! End-to-end tests: the real server on an ephemeral port, real `tend` processes, on SQLite and
//! (when `TEND_TEST_DATABASE_URL` is set) on PostgreSQL.

mod agent;
mod api;
mod apply_updates;
mod auto_rollouts;
mod backup_agent;
mod backups;
mod cli;
mod db;
mod desk;
mod desk_mail;
mod harness;
mod jobs;
mod monitoring;
mod patch_policy;
mod patching;
mod pings;
mod portal;
mod restores;
mod rollout_gate;
mod rollouts;
mod spool;
mod tenancy;
mod up;
mod vault;
mod web;
