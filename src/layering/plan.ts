// Owns the layer plan: which packages share a layer, in which order. This is the seam the
// layering issue fills in (popularity, dominators, source packages); until then each package
// gets its own layer in name order, and when that exceeds the budget the smallest neighbouring
// groups are merged, deterministically, until it fits.
export interface PlanPackage {
  name: string;
  size: number;
  depends: string[];
  source: string;
}

export interface PlannedLayer {
  packages: string[];
  reason: string;
}

export interface LayerPlan {
  layers: PlannedLayer[];
  /** Layers outside the plan that the image also has (base layout, effects). */
  reserved: number;
}

export function planLayers(packages: PlanPackage[], budget: number, reserved = 2): LayerPlan {
  const sorted = [...packages].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const groups = sorted.map((p) => ({ packages: [p.name], size: p.size, reason: 'one layer per package' }));
  const room = Math.max(1, budget - reserved);
  while (groups.length > room) {
    // Merge the neighbouring pair with the smallest combined size (ties: the first pair).
    let best = 0;
    for (let i = 1; i < groups.length - 1; i++) {
      if (groups[i]!.size + groups[i + 1]!.size < groups[best]!.size + groups[best + 1]!.size) best = i;
    }
    const a = groups[best]!;
    const b = groups[best + 1]!;
    groups.splice(best, 2, { packages: [...a.packages, ...b.packages], size: a.size + b.size, reason: 'merged to fit the layer budget' });
  }
  return { layers: groups.map((g) => ({ packages: g.packages, reason: g.reason })), reserved };
}
