/**
 * A rehype plugin for lesson text: every table is wrapped in a block that scrolls sideways, so a
 * table wider than a phone scrolls in its own box instead of widening the page. The box takes the
 * keyboard focus (tabindex 0) so that keyboard users can scroll it too.
 */
import type { Element, Root } from 'hast';

interface Parent {
  children: unknown[];
}

export function scrollableTables() {
  return (tree: Root) => wrap(tree);
}

/** Walks every node with children: tables sit inside MDX components (<Step>) as well as at the top. */
function wrap(parent: Parent): void {
  parent.children = parent.children.map((child) => {
    const node = child as Partial<Element> & Partial<Parent>;
    if (node.type === 'element' && node.tagName === 'table') {
      const box: Element = { type: 'element', tagName: 'div', properties: { className: ['table-scroll'], tabIndex: 0 }, children: [node as Element] };
      return box;
    }
    if (Array.isArray(node.children)) wrap(node as Parent);
    return child;
  });
}
