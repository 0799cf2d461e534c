"""The Export panel cannot hold a value the export check refuses."""


def test_max_output_below_64_snaps_to_64(studio):
    ex = studio.export
    ex.max_output.setValue(10)
    assert ex.max_output.value() == 64
    ex.max_output.setValue(0)            # 0 = the portrait's own size
    assert ex.max_output.value() == 0
    ex.max_output.setValue(9000)
    assert ex.max_output.value() == 9000
