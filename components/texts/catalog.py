"""Catalog import from the retailer's own files (issue 21): upload, preview, column mapping, progress, report;
and the product photo / "no price" marks of the catalog search."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    'catalog_import.title': {'es': 'Importar catálogo', 'en': 'Import catalog'},
    'catalog_import.help': {
        'es': 'JSON o CSV: nuestro formato, una planilla de Excel guardada como CSV (con «;» y coma decimal) o la '
        'exportación de MercadoLibre (titulo, categoria, imagen_1…). Los productos se actualizan por código; sin '
        'código, por título.',
        'en': 'JSON or CSV: our format, an Excel sheet saved as CSV (with “;” and decimal comma) or the MercadoLibre '
        'export (titulo, categoria, imagen_1…). Products are updated by code; without a code, by title.',
    },
    'catalog_import.upload': {'es': 'Elegir archivo', 'en': 'Choose file'},
    'catalog_import.file': {
        'es': '{name}: {kind}, {rows} filas, codificación {encoding}{separator}',
        'en': '{name}: {kind}, {rows} rows, encoding {encoding}{separator}',
    },
    'catalog_import.separator': {'es': ', separador «{separator}»', 'en': ', separator “{separator}”'},
    'catalog_import.preview': {'es': 'Primeras filas del archivo', 'en': 'First rows of the file'},
    'catalog_import.mapping': {'es': 'Columnas del archivo para cada dato', 'en': 'File columns for each field'},
    'catalog_import.mapping_help': {
        'es': 'Reconocidas por sus títulos; corregí lo que haga falta. Sin columna de código, el código sale del '
        'título. Sin precio, el producto se encuentra pero no se puede presupuestar hasta tener precio.',
        'en': 'Recognized by their titles; fix what is needed. Without a code column, the code comes from the '
        'title. Without a price, the product is found but cannot be quoted until it has one.',
    },
    'catalog_import.none': {'es': '(ninguna)', 'en': '(none)'},
    'catalog_import.stock_columns': {'es': 'Stock por sucursal: {columns}', 'en': 'Stock per branch: {columns}'},
    'catalog_import.start': {'es': 'Importar {rows} filas', 'en': 'Import {rows} rows'},
    'catalog_import.cancel': {'es': 'Descartar archivo', 'en': 'Discard file'},
    'catalog_import.reading': {'es': 'Leyendo el archivo…', 'en': 'Reading the file…'},
    'catalog_import.checking': {'es': 'Revisando las filas…', 'en': 'Checking the rows…'},
    'catalog_import.progress': {'es': 'Importando {done} de {total}…', 'en': 'Importing {done} of {total}…'},
    'catalog_import.done': {
        'es': '{total} productos importados en {seconds} s ({created} nuevos, {updated} actualizados).',
        'en': '{total} products imported in {seconds} s ({created} new, {updated} updated).',
    },
    'catalog_import.unpriced': {
        'es': '{count} sin precio: se encuentran en la búsqueda, pero no se pueden presupuestar hasta tener precio.',
        'en': '{count} without a price: they are found by search but cannot be quoted until priced.',
    },
    'catalog_import.rejected': {
        'es': '{count} filas rechazadas (no se importaron):',
        'en': '{count} rows rejected (not imported):',
    },
    'catalog_import.rejected_more': {'es': '… y {count} más.', 'en': '… and {count} more.'},
    'catalog_import.failed': {'es': 'No se importó nada: {reason}', 'en': 'Nothing was imported: {reason}'},
    'catalog_import.col.position': {'es': 'Fila', 'en': 'Row'},
    'catalog_import.col.code': {'es': 'Código', 'en': 'Code'},
    'catalog_import.col.reason': {'es': 'Motivo', 'en': 'Reason'},
    'catalog_import.field.sku': {'es': 'Código (SKU)', 'en': 'Code (SKU)'},
    'catalog_import.field.title': {'es': 'Título', 'en': 'Title'},
    'catalog_import.field.category': {'es': 'Categoría', 'en': 'Category'},
    'catalog_import.field.brand': {'es': 'Marca', 'en': 'Brand'},
    'catalog_import.field.description': {'es': 'Descripción', 'en': 'Description'},
    'catalog_import.field.price': {'es': 'Precio sin IVA', 'en': 'Price excl. VAT'},
    'catalog_import.field.iva_rate': {'es': 'IVA %', 'en': 'VAT %'},
    'catalog_import.field.codes': {'es': 'Códigos OEM / fabricante', 'en': 'OEM / part codes'},
    'catalog_import.field.fitments': {'es': 'Aplicaciones (vehículos)', 'en': 'Fitments (vehicles)'},
    'catalog_import.field.image_urls': {'es': 'Fotos (URLs)', 'en': 'Photos (URLs)'},
    'catalog.no_price': {'es': 'Sin precio', 'en': 'No price'},
    'catalog.no_photo': {'es': 'Sin foto', 'en': 'No photo'},
}
