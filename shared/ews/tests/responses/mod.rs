//! Value-by-value checks of the response fixtures, one module per group of operations.

mod faults_and_broken;
mod find_and_folders;
mod get_item;
mod newer_schema;
mod sync_folder_items;
mod writes;
