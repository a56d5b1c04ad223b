"""What a regulator and a recall ask of the lot graph: lot pages (``lots``), recalls and their
record (``recall``, ``recall_record``) and the FSMA 204 exports (``fsma``, ``fsma_recall``)."""
