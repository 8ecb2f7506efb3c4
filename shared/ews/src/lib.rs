//! EWS core for mailbridge.
