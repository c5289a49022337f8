"""The benchmark's denominators: the calls floor and the time the rate limits force, by hand."""

from bench.floor import BackfillShape, XeroRules, calls_floor, forced_seconds, forced_seconds_best, ratio


def test_the_floor_packs_fifty_a_write_and_reads_contacts_a_thousand_a_page():
    floor = calls_floor(BackfillShape(invoices=2000, payments=1600, customers=1200, existing_contacts=400))
    assert floor.as_json() == {
        "setup": 4,
        "contact_reads": 1,
        "contact_writes": 16,  # 800 new contacts
        "invoice_writes": 40,
        "payment_writes": 32,
        "total": 93,
    }


def test_partial_batches_and_pages_round_up_and_an_empty_tenant_is_still_read_once():
    floor = calls_floor(BackfillShape(invoices=51, payments=0, customers=51, existing_contacts=0))
    assert (floor.contact_reads, floor.contact_writes, floor.invoice_writes, floor.payment_writes) == (
        1,
        2,
        2,
        0,
    )
    assert calls_floor(BackfillShape(10, 0, 3000, 2001)).contact_reads == 3


def test_without_a_page_count_an_exact_number_of_full_pages_takes_one_more_read_to_end():
    rules = XeroRules(page_count_known=False)
    reads = [calls_floor(BackfillShape(10, 0, 3000, n), rules).contact_reads for n in (0, 999, 1000, 2000)]
    assert reads == [1, 1, 2, 3]
    assert calls_floor(BackfillShape(10, 0, 3000, 2000)).contact_reads == 2  # Xero's pageCount says so


def test_forced_time_waits_for_each_further_minute_window_and_each_further_day():
    assert forced_seconds(0) == forced_seconds(60) == 0.0
    assert forced_seconds(61) == forced_seconds(120) == 60.0
    assert forced_seconds(93) == 60.0
    assert forced_seconds(5000) == 83 * 60.0  # 84 minute windows
    assert forced_seconds(5001) == 86_400.0  # the day limit binds
    assert forced_seconds(100, XeroRules(per_minute=10)) == 540.0


def test_the_best_alignment_spends_two_windows_at_once_so_waits_for_one_fewer():
    assert forced_seconds_best(0) == forced_seconds_best(120) == 0.0
    assert forced_seconds_best(121) == forced_seconds_best(180) == 60.0
    assert forced_seconds_best(446) == 6 * 60.0  # the 10,000-invoice floor: 8 windows
    assert forced_seconds(446) == 7 * 60.0
    assert forced_seconds_best(10_001) == 86_400.0


def test_a_ratio_over_nothing_is_no_ratio():
    assert ratio(142, 93) == 1.527
    assert ratio(1.0, 0.0) is None
