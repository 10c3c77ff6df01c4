//! Personal data: email addresses, IP addresses, phone numbers, card numbers.

use super::{becomes, untouched};

#[test]
fn email_in_a_message() {
    becomes("User jane.doe+test@example.co.uk not found", "User [email] not found");
}

#[test]
fn ipv4_keeps_its_port() {
    becomes("connect ECONNREFUSED 10.1.2.3:5432", "connect ECONNREFUSED [ipv4]:5432");
    becomes("client 203.0.113.77 sent a bad header", "client [ipv4] sent a bad header");
}

#[test]
fn ipv6_full_compressed_and_bracketed() {
    becomes("from 2001:0db8:85a3:0000:0000:8a2e:0370:7334 at", "from [ipv6] at");
    becomes("GET http://[2001:db8::1]:8080/health", "GET http://[[ipv6]]:8080/health");
    becomes("peer fe80::1ff:fe23:4567:890a: reset", "peer [ipv6]: reset");
    becomes("bound to ::ffff:192.0.2.128", "bound to [ipv6]");
}

#[test]
fn phone_numbers_international_and_north_american() {
    becomes("call +1 415 555 0100 now", "call [phone] now");
    becomes("tel: +44 20 7946 0958", "tel: [phone]");
    becomes("sms to +4915112345678 failed", "sms to [phone] failed");
    becomes("Contact (415) 555-0100 or 212-555-0199.", "Contact [phone] or [phone].");
}

#[test]
fn card_numbers_that_pass_luhn() {
    becomes("card 4111 1111 1111 1111 declined", "card [card] declined");
    becomes("card=5555-5555-5555-4444;", "card=[card];");
    becomes("amex 378282246310005 ok", "amex [card] ok");
    becomes("4111111111111111 then 2024", "[card] then 2024");
}

#[test]
fn card_like_numbers_that_fail_luhn_stay() {
    untouched("order 4111111111111112 shipped");
    untouched("mixed separators 4111 1111-1111 1111");
}

#[test]
fn card_followed_by_another_number_keeps_that_number() {
    becomes("paid 4111 1111 1111 1111 2024 total", "paid [card] 2024 total");
}
